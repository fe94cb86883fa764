//! JSON read strictly: a key written twice in one object is an error, not
//! "the last one wins". serde_json keeps the last value silently (into a
//! `Value`, a map or a buffered enum), so a clause sent with two `kind`
//! keys would be stored as the second; files and API bodies both go
//! through [`parse_value`] or [`check_duplicate_keys`] first.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A key written twice in one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The repeated key's path as the API names fields (`clauses[0].kind`).
    pub path: String,
    pub key: String,
    /// 1-based line and column in the source, where the second key ends.
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: key {:?} is given more than once in the same object",
            self.path, self.key
        )
    }
}

/// Why a JSON text was refused.
#[derive(Debug)]
pub enum StrictJsonError {
    Duplicate(DuplicateKey),
    /// Not JSON at all (syntax, trailing characters, nesting too deep).
    Syntax(serde_json::Error),
}

impl fmt::Display for StrictJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictJsonError::Duplicate(d) => d.fmt(f),
            StrictJsonError::Syntax(e) => e.fmt(f),
        }
    }
}

/// Finds the first key written twice in one object of `src`. A syntax
/// error is reported as such (the caller's own parse says it better).
pub fn check_duplicate_keys(src: &[u8]) -> Result<(), StrictJsonError> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(src);
    let r = Walk {
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (r, found.into_inner()) {
        (Err(e), Some((path, key))) => Err(StrictJsonError::Duplicate(DuplicateKey {
            path,
            key,
            line: e.line(),
            col: e.column(),
        })),
        (Err(e), None) => Err(StrictJsonError::Syntax(e)),
        (Ok(()), _) => Ok(()),
    }
}

/// Parses a JSON text into a value, refusing duplicate keys.
pub fn parse_value(src: &[u8]) -> Result<serde_json::Value, StrictJsonError> {
    check_duplicate_keys(src)?;
    serde_json::from_slice(src).map_err(StrictJsonError::Syntax)
}

/// Walks a value without building it; `path` is where it is.
struct Walk<'a> {
    path: String,
    found: &'a RefCell<Option<(String, String)>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let seed = Walk {
                path: format!("{}[{i}]", self.path),
                found: self.found,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key.clone()) {
                let message = format!("duplicate key {key:?} at {path}");
                *self.found.borrow_mut() = Some((path, key));
                return Err(de::Error::custom(message));
            }
            map.next_value_seed(Walk {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_is_named_with_its_path() {
        let e = check_duplicate_keys(br#"{"clauses": [{"kind": "exclusive", "kind": "rofr"}]}"#)
            .unwrap_err();
        let StrictJsonError::Duplicate(d) = e else {
            panic!("{e}")
        };
        assert_eq!(d.path, "clauses[0].kind");
        assert_eq!(d.key, "kind");
        assert_eq!(d.line, 1);
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        assert!(check_duplicate_keys(br#"[{"a": 1}, {"a": {"a": 2}}]"#).is_ok());
        assert_eq!(
            parse_value(br#"{"a": [1, 2.5, "x", null, true]}"#).unwrap(),
            serde_json::json!({"a": [1, 2.5, "x", null, true]})
        );
    }

    #[test]
    fn syntax_errors_stay_syntax_errors() {
        assert!(matches!(
            check_duplicate_keys(b"{\"a\": }"),
            Err(StrictJsonError::Syntax(_))
        ));
        assert!(matches!(
            check_duplicate_keys(b"{} x"),
            Err(StrictJsonError::Syntax(_))
        ));
    }
}
