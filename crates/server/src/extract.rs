//! Extractors that turn every malformed request into a problem document:
//! bearer tokens, JSON bodies (with the path of the bad field), query
//! strings, path ids and the Idempotency-Key header.

use std::collections::HashMap;

use axum::body::Bytes;
use std::time::Duration;

use axum::extract::{FromRef, FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use cascade_core::{Id, Instant, Month};
use cascade_format::json::StrictJsonError;
use cascade_store::{TokenInfo, TokenStatus};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::{FieldError, Problem, pointer_of};

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Party(Id),
}

impl Principal {
    /// As stored with a token: `admin` or `party:<id>`.
    pub fn as_stored(&self) -> String {
        match self {
            Principal::Admin => "admin".into(),
            Principal::Party(p) => format!("party:{p}"),
        }
    }

    pub fn from_stored(s: &str) -> Option<Principal> {
        if s == "admin" {
            return Some(Principal::Admin);
        }
        s.strip_prefix("party:")
            .and_then(|p| Id::new(p).ok())
            .map(Principal::Party)
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Admin)
    }

    /// Is this the party `id` (admins are every party)?
    pub fn acts_for(&self, id: &Id) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Party(p) => p == id,
        }
    }

    pub fn party(&self) -> Option<&Id> {
        match self {
            Principal::Admin => None,
            Principal::Party(p) => Some(p),
        }
    }
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// A new random token: `cascade_` and 32 random bytes in hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("cascade_{}", hex(&bytes))
}

impl<S> FromRequestParts<S> for Principal
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let app = AppState::from_ref(state);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(Problem::unauthorized(
                "this route needs a bearer token: Authorization: Bearer <token> (see `cascade token create`)",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty() && t.len() <= 512)
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        let hash = hash_token(token);
        let Some(info) = token_info(&app, &hash).await? else {
            return Err(Problem::unauthorized("unknown token"));
        };
        crate::observe::set_token_id(&info.id);
        match info.status(cascade_store::now()) {
            TokenStatus::Active => {}
            TokenStatus::Revoked => {
                return Err(Problem::unauthorized(&format!(
                    "token {} was revoked at {}",
                    info.id,
                    info.revoked_at.map(|t| t.to_string()).unwrap_or_default()
                )));
            }
            TokenStatus::Expired => {
                return Err(Problem::unauthorized(&format!(
                    "token {} expired at {}",
                    info.id,
                    info.expires_at.map(|t| t.to_string()).unwrap_or_default()
                )));
            }
        }
        let who = Principal::from_stored(&info.principal)
            .ok_or_else(|| Problem::unauthorized("unknown token"))?;
        if info.read_only {
            let route = parts.extensions.get::<MatchedPath>().map(|m| m.as_str());
            crate::access::read_only_may(&parts.method, route)?;
        }
        Ok(who)
    }
}

/// How long a token read from the store is trusted without reading it
/// again: a revocation reaches every instance within this time (expiry is
/// checked against the clock at every request).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_millis(500);

/// A stored token as read at `fetched`.
#[derive(Clone, Debug)]
pub struct CachedToken {
    pub info: TokenInfo,
    pub fetched: std::time::Instant,
}

/// The stored token with this hash (whatever its status), from the cache
/// when it was read less than [`TOKEN_CACHE_TTL`] ago. Unknown hashes are
/// not cached, so a token created on another instance works at once.
pub(crate) async fn token_info(app: &AppState, hash: &str) -> Result<Option<TokenInfo>, Problem> {
    if let Some(c) = app.tokens.read().expect("not poisoned").get(hash)
        && c.fetched.elapsed() < TOKEN_CACHE_TTL
    {
        return Ok(Some(c.info.clone()));
    }
    let fetched = std::time::Instant::now();
    let found = app
        .store
        .token(hash)
        .await
        .map_err(|e| Problem::store("token lookup failed", &e))?;
    let mut cache = app.tokens.write().expect("not poisoned");
    match &found {
        Some(info) => {
            if cache.len() >= 100_000 {
                cache.retain(|_, c| c.fetched.elapsed() < TOKEN_CACHE_TTL);
            }
            cache.insert(
                hash.to_string(),
                CachedToken {
                    info: info.clone(),
                    fetched,
                },
            );
        }
        None => {
            cache.remove(hash);
        }
    }
    Ok(found)
}

/// Forgets a token on this instance at once (after a revocation here).
pub(crate) fn forget_token(app: &AppState, id: &str) {
    app.tokens
        .write()
        .expect("not poisoned")
        .retain(|_, c| c.info.id != id);
}

/// A JSON request body, deserialised with the path of any bad field, plus a
/// hash of the request for idempotency.
pub struct JsonBody<T> {
    pub value: T,
    /// SHA-256 of method, path and the body's canonical JSON.
    pub request_hash: String,
}

fn is_json(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Hash of a request for idempotency: method, path and canonical body.
pub fn request_hash(method: &str, path: &str, canonical_body: &str) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(canonical_body.as_bytes());
    hex(&h.finalize())
}

/// Reads and parses a JSON body: 415 without a JSON content type, 413 over
/// the limit, 400 when it is not JSON, 422 when it does not fit `T`.
pub async fn read_json<T: DeserializeOwned>(req: Request) -> Result<JsonBody<T>, Problem> {
    let (value, hash) = read_json_value(req).await?;
    let value = from_value(value)?;
    Ok(JsonBody {
        value,
        request_hash: hash,
    })
}

/// The body as a JSON value (checked for content type, size and syntax).
pub async fn read_json_value(req: Request) -> Result<(serde_json::Value, String), Problem> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !is_json(&ct) {
        return Err(Problem::unsupported_media(if ct.is_empty() {
            "the request body must be JSON: send Content-Type: application/json".to_string()
        } else {
            format!("the request body must be JSON (Content-Type: application/json), not {ct:?}")
        }));
    }
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map(|l| l.0)
        .unwrap_or(crate::BODY_LIMIT);
    let bytes = Bytes::from_request(req, &()).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large(limit)
        } else {
            Problem::malformed(format!("cannot read the request body: {r}"))
        }
    })?;
    let value = cascade_format::json::parse_value(&bytes).map_err(|e| match e {
        // Valid JSON, but ambiguous: which of the two values was meant?
        StrictJsonError::Duplicate(d) => Problem::invalid(
            d.to_string(),
            vec![FieldError {
                pointer: Some(pointer_of(&d.path)),
                field: d.path,
                message: format!("key {:?} is given more than once in the same object", d.key),
            }],
        ),
        StrictJsonError::Syntax(e) => {
            Problem::malformed(format!("the body is not valid JSON: {e}"))
        }
    })?;
    let hash = request_hash(&method, &path, &value.to_string());
    Ok((value, hash))
}

/// Deserialises a JSON value into `T`; a mismatch is a 422 naming the field.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path == "." { String::new() } else { path };
        let detail = if field.is_empty() {
            format!("the body does not fit: {message}")
        } else {
            format!("{field}: {message}")
        };
        Problem::invalid(
            detail,
            vec![FieldError {
                pointer: Some(pointer_of(&field)),
                field: if field.is_empty() {
                    "(body)".into()
                } else {
                    field
                },
                message,
            }],
        )
    })
}

/// The body limit of a route, when it differs from [`crate::BODY_LIMIT`].
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Problem> {
        read_json(req).await
    }
}

/// The optional `Idempotency-Key` header.
#[derive(Clone, Debug, Default)]
pub struct IdemKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(IdemKey(None));
        };
        let ok = v.to_str().ok().map(str::trim).filter(|s| {
            !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        });
        match ok {
            Some(s) => Ok(IdemKey(Some(s.to_string()))),
            None => Err(Problem::bad_param(
                "Idempotency-Key",
                "must be 1 to 255 printable ASCII characters",
            )),
        }
    }
}

/// Query parameters as a map; unknown parameters are refused by the handler.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let q = parts.uri.query().unwrap_or("");
        let mut m = HashMap::new();
        for pair in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k)
                .ok_or_else(|| Problem::bad_param(k, "is not valid percent-encoded UTF-8"))?;
            let v = decode(v)
                .ok_or_else(|| Problem::bad_param(&k, "is not valid percent-encoded UTF-8"))?;
            if m.insert(k.clone(), v).is_some() {
                return Err(Problem::bad_param(&k, "given more than once"));
            }
        }
        Ok(QueryMap(m))
    }
}

impl QueryMap {
    /// Refuses parameters outside `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), Problem> {
        let mut extra: Vec<&String> = self
            .0
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        extra.sort();
        match extra.first() {
            None => Ok(()),
            Some(k) => Err(Problem::bad_param(
                k,
                format!(
                    "unknown query parameter (this route takes: {})",
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
            )),
        }
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    /// A required party id (`buyer=`).
    pub fn party(&self, k: &str) -> Result<Id, Problem> {
        let raw = self
            .get(k)
            .ok_or_else(|| Problem::bad_param(k, "required: the buyer's party id"))?;
        Id::new(raw).map_err(|_| Problem::bad_param(k, format!("{raw:?} is not a valid party id")))
    }

    /// An optional instant: a date or an RFC 3339 date-time.
    pub fn instant(&self, k: &str) -> Result<Option<Instant>, Problem> {
        self.get(k)
            .map(|s| {
                cascade_format::parse_instant(s).map_err(|e| {
                    Problem::bad_param(k, format!("{e} (use 2026-01-01 or 2026-02-15T00:00:00Z)"))
                })
            })
            .transpose()
    }

    /// An optional month, YYYY-MM.
    pub fn month(&self, k: &str) -> Result<Option<Month>, Problem> {
        self.get(k)
            .map(|s| {
                Month::parse(s)
                    .map_err(|e| Problem::bad_param(k, format!("{e} (use YYYY-MM, e.g. 2026-01)")))
            })
            .transpose()
    }

    pub fn usize(&self, k: &str, default: usize, max: usize) -> Result<usize, Problem> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(Problem::bad_param(
                    k,
                    format!("must be a whole number from 0 to {max}"),
                )),
            },
        }
    }
}

/// Percent-decoding (and `+` as space) of a query component.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let h = b.get(i + 1..i + 3)?;
                let h = std::str::from_utf8(h).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// An id from the path; a malformed one is a 404 (no such item can exist).
pub fn path_id(kind: &str, raw: &str) -> Result<Id, Problem> {
    Id::new(raw).map_err(|_| {
        Problem::not_found(format!(
            "no {kind} {raw:?} (ids match [a-z0-9][a-z0-9._-]*)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%e2%82%ac").as_deref(), Some("€"));
        assert_eq!(decode("%ff"), None);
    }

    #[test]
    fn principals() {
        assert_eq!(Principal::from_stored("admin"), Some(Principal::Admin));
        let p = Principal::from_stored("party:openai").unwrap();
        assert_eq!(p.as_stored(), "party:openai");
        assert_eq!(Principal::from_stored("x"), None);
        assert!(new_token().starts_with("cascade_"));
        assert_eq!(hash_token("a").len(), 64);
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
