//! API tokens, for admins: `POST /tokens` creates one (the secret is in
//! that answer and nowhere else), `GET /tokens` lists them (ids, never
//! secrets), `DELETE /tokens/{id}` revokes one. `cascade token` does the
//! same on the database directly; both use [`parse_lifetime`].

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Id, Instant};
use cascade_store::{StoreError, TokenInfo, TokenStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, PathId, Res, json, read};
use crate::extract::{JsonBody, Principal, QueryMap, forget_token};
use crate::problem::Problem;
use crate::{AppState, access, hash_token, new_token};

/// Longest token lifetime: ten years.
pub const MAX_LIFETIME_S: i64 = 3650 * 86_400;

/// A token lifetime as written on the command line and in `POST /tokens`:
/// a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`90d`, `12h`), at
/// most ten years. Returns seconds.
pub fn parse_lifetime(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{s:?} is not a lifetime: write a whole number and a unit s, m, h, d or w (e.g. 90d)"
        )
    };
    let s = s.trim();
    let unit = s.chars().last().ok_or_else(bad)?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(per) {
        Some(secs) if secs > 0 && secs <= MAX_LIFETIME_S => Ok(secs),
        _ => Err(format!("{s:?}: a lifetime is from 1 second to 3650 days")),
    }
}

/// A token as listed: everything but the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// The non-secret id (`tok_` and 16 hex digits), as in logs and the audit trail.
    pub id: String,
    /// `admin` or `party:<id>`.
    pub principal: String,
    /// The party the token acts for (absent for admin tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    pub read_only: bool,
    /// `active`, `expired` or `revoked`, as of the answer.
    pub status: String,
}

/// The word for a token status, in lists and in `cascade token list`.
pub fn status_word(s: TokenStatus) -> &'static str {
    match s {
        TokenStatus::Active => "active",
        TokenStatus::Expired => "expired",
        TokenStatus::Revoked => "revoked",
    }
}

impl TokenView {
    pub fn of(t: &TokenInfo, now: Instant) -> TokenView {
        TokenView {
            id: t.id.clone(),
            principal: t.principal.clone(),
            party: Principal::from_stored(&t.principal)
                .and_then(|p| p.party().map(|p| p.as_str().to_string())),
            created_at: t.created_at.to_string(),
            expires_at: t.expires_at.map(|e| e.to_string()),
            revoked_at: t.revoked_at.map(|e| e.to_string()),
            read_only: t.read_only,
            status: status_word(t.status(now)).into(),
        }
    }
}

/// What `POST /tokens` takes: `party`, or `admin: true`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// The party the token acts for (it must exist).
    #[serde(default)]
    pub party: Option<String>,
    /// An admin token instead (then leave `party` out).
    #[serde(default)]
    pub admin: bool,
    /// Lifetime: a whole number and a unit s, m, h, d or w (`90d`); default: no expiry.
    #[serde(default)]
    pub expires: Option<String>,
    /// A read-only token may read and plan, and write nothing.
    #[serde(default)]
    pub read_only: bool,
}

/// A new token: the secret, shown this once, and the stored token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The bearer token. Only its SHA-256 is stored: it cannot be shown again.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

query! {
    /// The query of `GET /tokens`.
    pub struct TokensQuery {
        /// Only this party's tokens
        party: Option<String>,
    }
}

/// Every token (or one party's with `?party=`), oldest first, revoked and
/// expired ones included. Admin only.
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    params(TokensQuery),
    responses((status = 200, description = "Tokens, without their secrets", body = Vec<TokenView>)))]
pub async fn list_tokens(r: Get<TokensQuery>) -> Res {
    let (app, who, q) = r.parts();
    access::admin_only(&who, "list tokens")?;
    let principal = match q.get("party") {
        None => None,
        Some(p) => Some(
            Principal::Party(Id::new(p).map_err(|e| Problem::bad_param("party", e.to_string()))?)
                .as_stored(),
        ),
    };
    let all = app
        .store
        .list_tokens(principal.as_deref())
        .await
        .map_err(store_problem)?;
    let now = cascade_store::now();
    let v: Vec<TokenView> = all.iter().map(|t| TokenView::of(t, now)).collect();
    Ok(json(StatusCode::OK, &v))
}

/// Creates a token. Admin only. The answer holds the secret, once.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = TokenIn,
    responses((status = 201, description = "Created", body = TokenCreated)))]
pub async fn create_token(
    State(app): State<AppState>,
    who: Principal,
    b: JsonBody<TokenIn>,
) -> Res {
    access::admin_only(&who, "create tokens")?;
    let t = b.value;
    let principal = match (t.party, t.admin) {
        (None, true) => Principal::Admin,
        (Some(p), false) => {
            let id = Id::new(&p).map_err(|e| Problem::field("party", e.to_string()))?;
            let known = read(&app, |s| s.ledger.party(&id).is_some()).await?;
            if !known {
                return Err(Problem::field("party", format!("no party {p:?}")));
            }
            Principal::Party(id)
        }
        (Some(_), true) => {
            return Err(Problem::field(
                "admin",
                "give either party or admin: true, not both",
            ));
        }
        (None, false) => {
            return Err(Problem::field(
                "party",
                "give the party the token acts for (or admin: true)",
            ));
        }
    };
    let now = cascade_store::now();
    let expires_at = match t.expires.as_deref() {
        None => None,
        Some(s) => {
            let secs = parse_lifetime(s).map_err(|m| Problem::field("expires", m))?;
            Some(Instant::from_unix_seconds(now.unix_seconds() + secs))
        }
    };
    let secret = new_token();
    let info = app
        .store
        .create_token(
            &hash_token(&secret),
            &principal.as_stored(),
            expires_at,
            t.read_only,
        )
        .await
        .map_err(store_problem)?;
    Ok(json(
        StatusCode::CREATED,
        &TokenCreated {
            token: secret,
            info: TokenView::of(&info, now),
        },
    ))
}

/// Revokes a token: every instance refuses it within a second. Revoking it
/// again keeps the first revocation time. Admin only.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id (`tok_...`)")),
    responses((status = 200, description = "The token, now revoked", body = TokenView)))]
pub async fn revoke_token(
    State(app): State<AppState>,
    who: Principal,
    q: QueryMap,
    PathId(id): PathId,
) -> Res {
    access::admin_only(&who, "revoke tokens")?;
    q.only(&[])?;
    let not_found = || Problem::not_found(format!("no token {id:?}"));
    if !id.starts_with("tok_") || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(not_found());
    }
    let info = match app.store.revoke_token(&id).await {
        Ok(i) => i,
        Err(StoreError::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(store_problem(e)),
    };
    forget_token(&app, &info.id);
    Ok(json(
        StatusCode::OK,
        &TokenView::of(&info, cascade_store::now()),
    ))
}

/// A store error of the token calls: arguments it refuses are 422s, the
/// rest means the store is unavailable.
fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::Invalid { field, problem } => Problem::field(field, problem),
        e => Problem::unavailable(format!("the token store failed: {e}")),
    }
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90d"), Ok(90 * 86_400));
        assert_eq!(parse_lifetime("12h"), Ok(43_200));
        assert_eq!(parse_lifetime("2w"), Ok(14 * 86_400));
        assert_eq!(parse_lifetime("30s"), Ok(30));
        assert_eq!(parse_lifetime("5m"), Ok(300));
        for bad in [
            "",
            "d",
            "90",
            "-1d",
            "0d",
            "1.5d",
            "3651d",
            "99999999999999999w",
            "1y",
        ] {
            assert!(parse_lifetime(bad).is_err(), "{bad:?}");
        }
    }
}
