//! The API, one module per resource: each holds its request and response
//! types, its handlers and its [`OpenApiRouter`]. Adding a resource is one
//! new module here and one line in [`crate::api_router`]. This module holds
//! what every handler shares: reading, writing (with idempotency) and JSON
//! responses. Access rules live in [`crate::access`].

/// Declares a route's query parameters as a struct whose fields are the
/// OpenAPI parameters (name, type, and the doc comment as description), and
/// [`Params::NAMES`], the same fields' names, which [`Get`] accepts (it
/// refuses any other). It is never built: the handler reads the query with
/// [`QueryMap`], which gives the API's own messages. So each name is
/// written once, and a request costs no OpenAPI objects.
macro_rules! query {
    ($(#[$attr:meta])* pub struct $name:ident {
        $($(#[$f:meta])* $field:ident: $t:ty),* $(,)?
    }) => {
        #[derive(utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        #[allow(dead_code)]
        $(#[$attr])*
        pub struct $name { $($(#[$f])* $field: $t),* }

        impl $crate::routes::Params for $name {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];
        }
    };
}

/// The query parameters a route accepts, by name (from its `query!` struct).
pub trait Params: IntoParams {
    const NAMES: &'static [&'static str];

    /// Refuses parameters the route does not declare. Debug builds (every
    /// test) also check that the names are the OpenAPI parameters' names.
    fn check(q: &QueryMap) -> Result<(), Problem> {
        debug_assert_eq!(
            Self::NAMES,
            Self::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            "a query struct's names and its OpenAPI parameters differ"
        );
        q.only(Self::NAMES)
    }
}

pub mod audit;
pub mod billing;
pub mod chain;
pub mod clauses;
pub mod commitments;
pub mod contracts;
pub mod expansions;
pub mod exposure;
pub mod gpus;
pub mod health;
pub mod offers;
pub mod parties;
pub mod plan;
pub mod scenarios;
pub mod simulations;
pub mod sites;
pub mod tokens;

use std::borrow::Cow;
use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cascade_core::{Event, Id, Ledger};
use cascade_format::{AmendmentDoc, ToCore};
use cascade_store::{Idem, Record, Reply, Staging, State as StoreState, WriteOutcome};
use serde::de::DeserializeOwned;
use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::AppState;
use crate::access;
use crate::check::{Bounds, accept};
use crate::extract::{IdemKey, JsonBody, Principal, QueryMap, path_id};
use crate::problem::{PROBLEM_JSON, Problem};

pub(crate) type Res = Result<Response, Problem>;

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    let body = serde_json::to_string(v).expect("views serialise");
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn reply_response(reply: Reply, replayed: bool) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = if reply.status >= 400 {
        PROBLEM_JSON
    } else {
        "application/json"
    };
    let mut r = (status, reply.body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// What a write job returns: the success status and body, or a problem.
pub(crate) type JobResult = Result<(StatusCode, String), Problem>;

/// Runs a write in the store's writer, with idempotency.
pub(crate) async fn write<F>(
    app: &AppState,
    who: &Principal,
    key: IdemKey,
    request_hash: String,
    job: F,
) -> Response
where
    F: FnOnce(&mut Staging<'_>) -> JobResult + Send + 'static,
{
    let idem = key.0.map(|key| Idem { key, request_hash });
    let f: cascade_store::JobFn = Box::new(move |st| match job(st) {
        Ok((status, body)) => Reply {
            status: status.as_u16(),
            body,
        },
        Err(p) => Reply {
            status: p.status,
            body: p.to_json(),
        },
    });
    match app
        .store
        .write_by(crate::observe::author(who), idem, f)
        .await
    {
        Ok(WriteOutcome::Done(r)) => reply_response(r, false),
        Ok(WriteOutcome::Replayed(r)) => reply_response(r, true),
        Ok(WriteOutcome::KeyReused) => Problem::key_reused().into_response(),
        Err(e) => Problem::store("the store could not complete the write", &e).into_response(),
    }
}

pub(crate) fn body<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("views serialise")
}

pub(crate) async fn read<T>(
    app: &AppState,
    f: impl FnOnce(&StoreState) -> T,
) -> Result<T, Problem> {
    app.store
        .read(f)
        .await
        .map_err(|e| Problem::store("the store could not be read", &e))
}

/// Applies one event; a refusal is a 409 naming every broken invariant,
/// as `who` may see it.
pub(crate) fn apply_one(st: &mut Staging<'_>, e: Event, who: &Principal) -> Result<(), Problem> {
    st.apply(vec![Record::Event(e)])
        .map_err(|r| access::refusal(&st.state().ledger, r, who))
}

/// What every `POST` that creates one item takes: the caller, its
/// Idempotency-Key and the JSON body, extracted in that order (so a missing
/// token is a 401 whatever the body).
pub struct Post<T> {
    app: AppState,
    pub who: Principal,
    key: IdemKey,
    pub body: JsonBody<T>,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Post<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Problem> {
        let (mut parts, body) = req.into_parts();
        let who = Principal::from_request_parts(&mut parts, app).await?;
        let key = IdemKey::from_request_parts(&mut parts, app).await?;
        let body = JsonBody::from_request(Request::from_parts(parts, body), app).await?;
        Ok(Post {
            app: app.clone(),
            who,
            key,
            body,
        })
    }
}

impl<T> Post<T> {
    /// Appends one event built against the current ledger (`build` also
    /// runs the access checks that depend on it) and answers 201 with the
    /// item as the caller sees it afterwards (`view`).
    pub(crate) async fn append<B, V, U>(self, build: B, view: V) -> Res
    where
        B: FnOnce(&Ledger, &Principal) -> Result<Event, Problem> + Send + 'static,
        V: FnOnce(&Ledger, &Principal) -> U + Send + 'static,
        U: Serialize,
    {
        let w = self.who.clone();
        Ok(write(
            &self.app,
            &self.who,
            self.key,
            self.body.request_hash,
            move |st| {
                let e = build(&st.state().ledger, &w)?;
                apply_one(st, e, &w)?;
                Ok((StatusCode::CREATED, body(&view(&st.state().ledger, &w))))
            },
        )
        .await)
    }

    /// A top-up (`POST /<kind>s/{id}/amendments`) by `amendment`, checked
    /// before the store is asked. In the writer, `seller` finds the target
    /// (404 unless the caller may see it) and its seller, who alone (or an
    /// admin) may top it up. Answered with `view`: the target as it is now.
    pub(crate) async fn top_up<V, U>(
        self,
        kind: &'static str,
        amendment: &AmendmentDoc,
        seller: impl FnOnce(&Ledger, &Principal) -> Result<Id, Problem> + Send + 'static,
        view: V,
    ) -> Res
    where
        V: FnOnce(&Ledger, &Principal) -> U + Send + 'static,
        U: Serialize,
    {
        let a = accept(amendment, "amendment", Bounds::amendment)?;
        self.append(
            move |l, w| {
                access::may_top_up(w, &seller(l, w)?, kind)?;
                Ok(Event::Amendment(a))
            },
            view,
        )
        .await
    }
}

impl<D> Post<D>
where
    D: ToCore + Serialize + Send + 'static,
    D::Core: Send + 'static,
    for<'a> D: From<&'a D::Core>,
{
    /// Adds one item of the directory (GPU classes, parties, sites): admin
    /// only, checked like a scenario file's `label` item, answered with its
    /// document as stored.
    pub(crate) async fn add_by_admin(
        self,
        what: &str,
        label: &str,
        bound: impl FnOnce(&mut Bounds, &D::Core),
        event: fn(D::Core) -> Event,
    ) -> Res {
        access::admin_only(&self.who, what)?;
        let item = accept(&self.body.value, label, bound)?;
        let view = D::from(&item);
        self.append(move |_, _| Ok(event(item)), move |_, _| view)
            .await
    }
}

/// A document of the format plus what the API derives from the ledger
/// (where the capacity physically is, values, totals), served as one flat
/// object. Its schema is the document's with `E`'s properties added: the
/// format's schemas refuse unknown properties, so `#[serde(flatten)]`
/// (an `allOf`) would describe no valid response.
pub struct Extended<D, E> {
    pub doc: D,
    pub more: E,
}

impl<D: Serialize, E: Serialize> Serialize for Extended<D, E> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = json_object(&self.doc).map_err(S::Error::custom)?;
        m.extend(json_object(&self.more).map_err(S::Error::custom)?);
        m.serialize(s)
    }
}

fn json_object<T: Serialize>(v: &T) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::to_value(v).map_err(|e| e.to_string())? {
        serde_json::Value::Object(m) => Ok(m),
        other => Err(format!("expected a JSON object, got {other}")),
    }
}

impl<D: PartialSchema, E: PartialSchema> PartialSchema for Extended<D, E> {
    fn schema() -> RefOr<Schema> {
        match (D::schema(), E::schema()) {
            (RefOr::T(Schema::Object(mut d)), RefOr::T(Schema::Object(e))) => {
                d.properties.extend(e.properties);
                d.required.extend(e.required);
                RefOr::T(Schema::Object(d))
            }
            _ => unreachable!("documents and their extensions are derived object schemas"),
        }
    }
}

impl<D: ToSchema, E: ToSchema> ToSchema for Extended<D, E> {
    /// `ContractDoc` extended is `ContractView`.
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{}View", D::name().trim_end_matches("Doc")))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        D::schemas(schemas);
        E::schemas(schemas);
    }
}

query! {
    /// The query of a route that takes no parameters.
    pub struct NoQuery {}
}

/// What every `GET` takes: the caller, then the query string, whose
/// parameters must be among those the route's query struct `P` declares
/// (so a missing token is a 401 whatever the query, and a route cannot
/// forget to refuse an unknown parameter).
pub struct Get<P = NoQuery> {
    app: AppState,
    pub who: Principal,
    pub q: QueryMap,
    query: PhantomData<fn() -> P>,
}

impl<P: Params> FromRequestParts<AppState> for Get<P> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Problem> {
        let who = Principal::from_request_parts(parts, app).await?;
        let q = QueryMap::from_request_parts(parts, app).await?;
        Get::checked(app, who, q)
    }
}

impl<P: Params> Get<P> {
    fn checked(app: &AppState, who: Principal, q: QueryMap) -> Result<Self, Problem> {
        P::check(&q)?;
        Ok(Get {
            app: app.clone(),
            who,
            q,
            query: PhantomData,
        })
    }
}

impl<P> Get<P> {
    /// `f` on the caught-up state, answered 200.
    pub(crate) async fn answer<T: Serialize>(
        &self,
        f: impl FnOnce(&StoreState, &Principal) -> Result<T, Problem>,
    ) -> Res {
        let v = read(&self.app, |s| f(s, &self.who)).await??;
        Ok(json(StatusCode::OK, &v))
    }

    /// A list: what `f` collects from the caught-up state for the caller.
    pub(crate) async fn list<T: Serialize>(
        self,
        f: impl FnOnce(&StoreState, &Principal) -> T,
    ) -> Res {
        self.answer(|s, who| Ok(f(s, who))).await
    }

    /// The shared state, the caller and the (checked) query, for a handler
    /// that reads its parameters and the state its own way.
    pub(crate) fn parts(self) -> (AppState, Principal, QueryMap) {
        (self.app, self.who, self.q)
    }
}

/// What `GET /<kind>s/{id}...` takes: the caller, the id from the path
/// (malformed ids are 404s), then the query string, as [`Get`].
pub struct GetItem<P = NoQuery> {
    pub get: Get<P>,
    raw: String,
}

impl<P: Params> FromRequestParts<AppState> for GetItem<P> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Problem> {
        let who = Principal::from_request_parts(parts, app).await?;
        let PathId(raw) = PathId::from_request_parts(parts, app).await?;
        let q = QueryMap::from_request_parts(parts, app).await?;
        let get = Get::checked(app, who, q)?;
        Ok(GetItem { get, raw })
    }
}

impl<P> GetItem<P> {
    /// The path's id as a `kind` id (a malformed one is a 404).
    pub(crate) fn id(&self, kind: &str) -> Result<Id, Problem> {
        path_id(kind, &self.raw)
    }

    /// A well-formed id, and `f` on the caught-up state (which answers 404
    /// for what the caller may not see).
    pub(crate) async fn read<T: Serialize>(
        self,
        kind: &str,
        f: impl FnOnce(&StoreState, &Id, &Principal) -> Result<T, Problem>,
    ) -> Res {
        let id = self.id(kind)?;
        self.get.answer(|s, who| f(s, &id, who)).await
    }
}

/// An id from the path; malformed ids are 404s.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(s)| PathId(s))
            .map_err(|_| Problem::not_found("no such item"))
    }
}
