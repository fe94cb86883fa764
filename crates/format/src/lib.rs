//! Reading and writing Cascade scenario files (TOML) and documents (JSON).
//!
//! Loading happens in two passes:
//!
//! 1. serde reads the document into plain structs with the spec's field
//!    names. Syntax errors, wrong types, unknown fields and missing fields
//!    stop here, with `file:line:col` and the path of the field
//!    (`contract[3].gpus`).
//! 2. Every value is checked and turned into core's validated types (ids,
//!    windows, positive quantities, non-negative money, "exactly one of"
//!    fields). Every problem found is reported, each with the `file:line:col`
//!    of the offending field or item.
//!
//! Relations between items (references, oversold sites, clauses, ...) are
//! the ledger's business, not this crate's.
//!
//! Loaded scenarios keep items in document order, except the installed GPUs
//! of a site and the policies, which are sorted by id so that TOML and JSON
//! round trips give equal scenarios.

mod convert;
mod doc;
pub mod focus;
pub mod json;
pub mod report;
mod tree;
mod value;
mod written;

use std::fmt;
use std::path::{Path, PathBuf};

use cascade_core::Scenario;

pub use convert::{
    Cx, DEFAULT_BLOCK_GPUS, Item, ItemDoc, ItemError, ItemKind, Problem, Record, ToCore,
};
pub use doc::{
    AmendmentDoc, ClauseDoc, ClauseKind, CommitmentDoc, ContractDoc, DemandDoc, ExpansionDoc,
    GpuDoc, OfferDoc, Ordered, OutageDoc, PartyDoc, PolicyDoc, ScenarioDoc, SiteDoc,
};
pub use tree::Seg;
pub use value::{
    CLASS_ID_PATTERN, ClassIdText, EARLIEST, ID_PATTERN, INSTANT_PATTERN, IdText, LATEST,
    MONEY_PATTERN, Money, TimeText, describe, parse_instant,
};
pub use written::{Slot, covers, to_toml_in_order, written_order};

use crate::tree::Node;

/// A problem at a place in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name as given by the caller (`examples/x.toml`, `request`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What is wrong, starting with the item or path it concerns.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The document is not well-formed, or does not have the format's shape:
    /// bad syntax, a wrong type, an unknown or a missing field. Only the
    /// first such problem is known.
    #[error("{0}")]
    Syntax(Diagnostic),
    /// The document has the right shape but some values are invalid; all of
    /// them are listed, in document order of their kind.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<Diagnostic>),
}

fn join_lines(ds: &[Diagnostic]) -> String {
    ds.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl LoadError {
    /// Every located problem (none for an IO error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            LoadError::Io { .. } => &[],
            LoadError::Syntax(d) => std::slice::from_ref(d),
            LoadError::Invalid(ds) => ds,
        }
    }
}

fn diagnostic(file: &str, src: &str, offset: usize, message: String) -> Diagnostic {
    let (line, col) = tree::line_col(src, offset);
    Diagnostic {
        file: file.to_string(),
        line,
        col,
        message,
    }
}

/// `contract[3].gpus: message`, or just the message at the document root.
fn with_path(path: &serde_path_to_error::Path, message: &str) -> String {
    let p = path.to_string();
    if p.is_empty() || p == "." {
        message.to_string()
    } else {
        format!("{p}: {message}")
    }
}

fn segs(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// Turns value problems into diagnostics, locating each path in the document.
fn invalid(file: &str, src: &str, tree: Option<Node>, problems: Vec<Problem>) -> LoadError {
    LoadError::Invalid(
        problems
            .into_iter()
            .map(|p| {
                let offset = tree.as_ref().map_or(0, |t| t.resolve(&p.path));
                diagnostic(file, src, offset, p.to_string())
            })
            .collect(),
    )
}

fn finish(
    doc: ScenarioDoc,
    file: &str,
    src: &str,
    tree: impl FnOnce() -> Option<Node>,
) -> Result<Scenario, LoadError> {
    match doc.to_core("scenario") {
        Ok(mut s) => {
            for site in &mut s.sites {
                site.gpus.sort_by(|a, b| a.0.cmp(&b.0));
            }
            s.policies.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(s)
        }
        Err(problems) => Err(invalid(file, src, tree(), problems)),
    }
}

/// Parses a TOML scenario. `file` names the source in messages.
pub fn parse_toml(src: &str, file: &str) -> Result<Scenario, LoadError> {
    let toml_error = |e: toml::de::Error, path: Option<&serde_path_to_error::Path>| {
        let message = match path {
            Some(p) => with_path(p, e.message()),
            None => e.message().to_string(),
        };
        let offset = match (e.span(), path) {
            (Some(span), _) => span.start,
            (None, Some(p)) => tree::from_toml(src).map_or(0, |t| t.resolve(&segs(p))),
            (None, None) => 0,
        };
        LoadError::Syntax(diagnostic(file, src, offset, message))
    };
    let de = toml::Deserializer::parse(src).map_err(|e| toml_error(e, None))?;
    let doc: ScenarioDoc = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().clone();
        toml_error(e.into_inner(), Some(&path))
    })?;
    finish(doc, file, src, || tree::from_toml(src))
}

/// Parses a JSON scenario document (same field names as TOML; times are
/// strings). `file` names the source in messages.
pub fn parse_json(src: &str, file: &str) -> Result<Scenario, LoadError> {
    let json_error = |e: serde_json::Error, path: Option<&serde_path_to_error::Path>| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let bare = full.strip_suffix(&suffix).unwrap_or(&full);
        let message = match path {
            Some(p) => with_path(p, bare),
            None => bare.to_string(),
        };
        let (line, col) = if e.line() == 0 {
            let offset = match path {
                Some(p) => tree::from_json(src).map_or(0, |t| t.resolve(&segs(p))),
                None => 0,
            };
            tree::line_col(src, offset)
        } else {
            (e.line(), e.column().max(1))
        };
        LoadError::Syntax(Diagnostic {
            file: file.to_string(),
            line,
            col,
            message,
        })
    };
    if let Err(json::StrictJsonError::Duplicate(d)) = json::check_duplicate_keys(src.as_bytes()) {
        return Err(LoadError::Syntax(Diagnostic {
            file: file.to_string(),
            line: d.line,
            col: d.col.max(1),
            message: d.to_string(),
        }));
    }
    let mut de = serde_json::Deserializer::from_str(src);
    let doc: ScenarioDoc = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().clone();
        json_error(e.into_inner(), Some(&path))
    })?;
    de.end().map_err(|e| json_error(e, None))?;
    finish(doc, file, src, || tree::from_json(src))
}

/// Reads and parses a scenario file: JSON when the extension is `.json`,
/// TOML otherwise. Messages name the path as given.
pub fn load_path(path: &Path) -> Result<Scenario, LoadError> {
    let src = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        parse_json(&src, &file)
    } else {
        parse_toml(&src, &file)
    }
}

/// Where an item is written: 1-based (line, col) of the item of `kind`
/// (`"contract"`, `"site"`, `"offer"`, `"commitment"`, `"party"`, `"gpu"`,
/// ...) whose `id` equals `id`, in a TOML or JSON document. For a TOML
/// `[[contract]]` item this is its header.
///
/// Kinds without an id match another field: `amendment` its `contract` or
/// `commitment`, `demand` its `buyer`, `outage` its `site` or `provider`,
/// `clause` its `buyer` or `seller`; `policy` matches the buyer key of
/// `[policy.<buyer>]`. `None` if the document does not parse or has no such
/// item.
pub fn locate(src: &str, kind: &str, id: &str) -> Option<(usize, usize)> {
    locate_all(src, kind, id).into_iter().next()
}

/// Where every item of `kind` named `id` is written, in file order (more
/// than one for a duplicate id).
pub fn locate_all(src: &str, kind: &str, id: &str) -> Vec<(usize, usize)> {
    locate_items(src, kind, id).unwrap_or_default()
}

fn locate_items(src: &str, kind: &str, id: &str) -> Option<Vec<(usize, usize)>> {
    let root = if tree::looks_like_json(src) {
        tree::from_json(src)?
    } else {
        tree::from_toml(src)?
    };
    let section = root.get(kind)?;
    if kind == "policy" {
        return Some(vec![tree::line_col(src, section.get(id)?.start)]);
    }
    let keys: &[&str] = match kind {
        "amendment" => &["contract", "commitment"],
        "demand" => &["buyer"],
        "outage" => &["site", "provider"],
        "clause" => &["buyer", "seller"],
        _ => &["id"],
    };
    let tree::NodeKind::Array(items) = &section.kind else {
        return None;
    };
    Some(
        items
            .iter()
            .filter(|item| {
                keys.iter()
                    .any(|k| item.get(k).and_then(Node::as_str) == Some(id))
            })
            .map(|item| tree::line_col(src, item.start))
            .collect(),
    )
}

/// Where the `index`-th (0-based) item of `kind` is written: for items the
/// ledger names by position (amendments, clauses, demands, outages).
/// `None` if the document does not parse or has no such item.
pub fn locate_index(src: &str, kind: &str, index: usize) -> Option<(usize, usize)> {
    let root = if tree::looks_like_json(src) {
        tree::from_json(src)?
    } else {
        tree::from_toml(src)?
    };
    let item = root.get(kind)?.index(index)?;
    Some(tree::line_col(src, item.start))
}

#[cfg(test)]
mod tests;

/// The scenario as a TOML scenario file in the spec's format: money as
/// strings, times as TOML dates when they fall on midnight UTC and as `Z`
/// date-times otherwise, kinds without items left out. Parsing the result
/// gives back an equal [`Scenario`].
pub fn to_toml(s: &Scenario) -> String {
    let doc = ScenarioDoc::from(s);
    value::with_native_toml_times(|| toml::to_string(&doc))
        .expect("a scenario document serializes as TOML")
}

/// The scenario as a JSON document with the TOML format's field names:
/// money as exact decimal strings (`"1.85"`, at least two places), times as
/// RFC 3339 strings in UTC. [`parse_json`] reads it back to an equal
/// [`Scenario`].
pub fn to_json_value(s: &Scenario) -> serde_json::Value {
    serde_json::to_value(ScenarioDoc::from(s)).expect("documents always serialize")
}
