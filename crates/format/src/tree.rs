//! A small tree of positions over a TOML or JSON document, used to turn a
//! path like `contract[3].gpus` into a line and column.
//!
//! Tables keep their entries in document order. Only what locating needs is
//! kept: where each value starts, table keys, array elements and string
//! values.

use toml::de::{DeTable, DeValue};

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    pub fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }
}

pub(crate) struct Node {
    /// Byte offset where the value starts (for a `[[x]]` element: its header).
    pub start: usize,
    pub kind: NodeKind,
}

pub(crate) enum NodeKind {
    Table(Vec<(String, Node)>),
    Array(Vec<Node>),
    Str(String),
    Other,
}

impl Node {
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Table(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn index(&self, i: usize) -> Option<&Node> {
        match &self.kind {
            NodeKind::Array(items) => items.get(i),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Keys of a table, in document order.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<&str> {
        match &self.kind {
            NodeKind::Table(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Start of the deepest value along `path` that exists.
    pub(crate) fn resolve(&self, path: &[Seg]) -> usize {
        let mut node = self;
        for seg in path {
            let next = match seg {
                Seg::Key(k) => node.get(k),
                Seg::Index(i) => node.index(*i),
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.start
    }
}

/// Builds the tree of a TOML document; `None` if it does not parse.
pub(crate) fn from_toml(src: &str) -> Option<Node> {
    let root = DeTable::parse(src).ok()?;
    Some(Node {
        start: 0,
        kind: toml_table(root.get_ref()),
    })
}

fn toml_table(t: &DeTable<'_>) -> NodeKind {
    let mut entries: Vec<(usize, String, Node)> = t
        .iter()
        .map(|(k, v)| (k.span().start, k.get_ref().to_string(), toml_node(v)))
        .collect();
    entries.sort_by_key(|(pos, ..)| *pos);
    NodeKind::Table(entries.into_iter().map(|(_, k, v)| (k, v)).collect())
}

fn toml_node(v: &toml::Spanned<DeValue<'_>>) -> Node {
    let kind = match v.get_ref() {
        DeValue::Table(t) => toml_table(t),
        DeValue::Array(a) => NodeKind::Array(a.iter().map(toml_node).collect()),
        DeValue::String(s) => NodeKind::Str(s.to_string()),
        _ => NodeKind::Other,
    };
    Node {
        start: v.span().start,
        kind,
    }
}

/// Builds the tree of a JSON document; `None` if it is not well-formed
/// enough to walk (or nested deeper than [`MAX_DEPTH`]).
pub(crate) fn from_json(src: &str) -> Option<Node> {
    let mut p = JsonWalker {
        src,
        b: src.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.value()
}

const MAX_DEPTH: usize = 256;

struct JsonWalker<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl JsonWalker<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Node> {
        self.ws();
        let start = self.i;
        let kind = match self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let mut entries = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        let v = self.value()?;
                        entries.push((key, v));
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b'}') {
                            break;
                        }
                        return None;
                    }
                }
                self.depth -= 1;
                NodeKind::Table(entries)
            }
            b'[' => {
                self.i += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b']') {
                            break;
                        }
                        return None;
                    }
                }
                self.depth -= 1;
                NodeKind::Array(items)
            }
            b'"' => NodeKind::Str(self.string()?),
            _ => {
                while let Some(c) = self.b.get(self.i) {
                    if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                NodeKind::Other
            }
        };
        Some(Node { start, kind })
    }

    /// A string literal at the cursor, decoded.
    fn string(&mut self) -> Option<String> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i;
        self.i += 1;
        loop {
            match self.b.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => break,
                _ => self.i += 1,
            }
        }
        self.i += 1;
        serde_json::from_str(self.src.get(start..self.i)?).ok()
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src.as_bytes()[..offset.min(src.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1;
    (line, col)
}

/// Whether a document looks like JSON (its first non-blank character is `{`).
pub(crate) fn looks_like_json(src: &str) -> bool {
    src.trim_start().starts_with('{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let s = "ab\ncé d\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 3), (2, 1));
        // 'é' is two bytes; 'd' is the 4th character of line 2.
        assert_eq!(line_col(s, 7), (2, 4));
        assert_eq!(line_col(s, 1000), (3, 1));
    }

    #[test]
    fn json_walker_finds_paths() {
        let s = "{\n \"a\": [1, {\"b\": \"x\\\"y\"}],\n \"c\": true\n}";
        let t = from_json(s).unwrap();
        let off = t.resolve(&[Seg::key("a"), Seg::Index(1), Seg::key("b")]);
        assert_eq!(&s[off..off + 3], "\"x\\");
        assert_eq!(
            t.get("a")
                .unwrap()
                .index(1)
                .unwrap()
                .get("b")
                .unwrap()
                .as_str(),
            Some("x\"y")
        );
        assert_eq!(t.keys(), vec!["a", "c"]);
        // A missing step stops at the deepest value found.
        assert_eq!(
            t.resolve(&[Seg::key("a"), Seg::Index(7)]),
            s.find('[').unwrap()
        );
    }

    #[test]
    fn json_walker_never_panics_on_junk() {
        for s in [
            "",
            "{",
            "{\"a\"",
            "[1,",
            "\"\\",
            "{\"a\":}",
            "]]]",
            "{\"é\":\"\\é",
        ] {
            let _ = from_json(s);
        }
        let deep = "[".repeat(100_000);
        assert!(from_json(&deep).is_none());
    }

    #[test]
    fn toml_tree_keeps_document_order() {
        let s = "name = 'x'\n[[site]]\nid = 'b'\ngpus = { zz = 1, aa = 2 }\n";
        let t = from_toml(s).unwrap();
        let site = t.get("site").unwrap().index(0).unwrap();
        assert_eq!(site.start, s.find("[[site]]").unwrap());
        assert_eq!(site.get("gpus").unwrap().keys(), vec!["zz", "aa"]);
        assert_eq!(t.keys(), vec!["name", "site"]);
    }
}
