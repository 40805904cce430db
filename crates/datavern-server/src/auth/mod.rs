//! Authentication: from `Authorization: Bearer <credential>` to a [`Principal`].
//!
//! An [`Authenticator`] turns a bearer credential into a principal (tenant, roles, clearance,
//! allowed purposes) or refuses it. Today there is one, [`StaticKeys`]: API keys configured
//! in a TOML file of principals, holding only the keys' SHA-256 hashes. OIDC (JWT validated
//! against a JWKS: ID-porten, Maskinporten, Entra ID, Keycloak) is a second implementation of
//! the same trait, and [`Chain`] tries several in order, so both can run side by side.
//!
//! Handlers take [`Authenticated`] as an argument; a request without valid credentials never
//! reaches them and is answered `401` with `WWW-Authenticate: Bearer`. The credential itself
//! never reaches a log, a `Debug` or an error message.

mod static_keys;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use datavern_core::access::Principal;
use datavern_store::audit::AuditAction;

use crate::error::{ApiError, Code};
use crate::state::AppState;

pub use self::static_keys::{PrincipalEntry, PrincipalsError, PrincipalsFile, StaticKeys};

/// A bearer credential as presented: an API key or a token. `Debug` never shows it.
#[derive(Clone, Copy)]
pub struct BearerToken<'a>(&'a str);

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The credential is not one this authenticator issued or knows. Other authenticators in
    /// a [`Chain`] may still accept it.
    #[error("the credential is not recognised")]
    NotRecognised,
    /// The credential is this authenticator's kind but invalid (an expired or badly signed
    /// token); the message says which, without the credential.
    #[error("{0}")]
    Invalid(String),
    /// The authenticator could not decide (an identity provider's keys are unreachable).
    #[error("authentication is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Turns a bearer credential into a principal.
///
/// Object safe (used as `Arc<dyn Authenticator>`), async so that token validation can fetch
/// keys.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The principal `token` identifies, or why not.
    async fn authenticate(&self, token: BearerToken<'_>) -> Result<Principal, AuthError>;
}

/// Several authenticators, tried in order until one recognises the credential.
pub struct Chain(Vec<Arc<dyn Authenticator>>);

/// The authenticated caller of a request: the extractor handlers take to require
/// authentication.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<'a> BearerToken<'a> {
    /// A presented credential.
    pub fn new(token: &'a str) -> Self {
        BearerToken(token)
    }

    /// The credential, to check it.
    pub fn expose(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl Chain {
    /// Tries `authenticators` in order.
    pub fn new(authenticators: Vec<Arc<dyn Authenticator>>) -> Self {
        Chain(authenticators)
    }
}

#[async_trait]
impl Authenticator for Chain {
    async fn authenticate(&self, token: BearerToken<'_>) -> Result<Principal, AuthError> {
        for authenticator in &self.0 {
            match authenticator.authenticate(token).await {
                Err(AuthError::NotRecognised) => continue,
                decided => return decided,
            }
        }
        Err(AuthError::NotRecognised)
    }
}

/// A principal the rate limiter already authenticated for this request, left in the
/// request's extensions so that [`Authenticated`] does not authenticate the credential a
/// second time. Only server code sets extensions; a client cannot.
#[derive(Clone)]
pub(crate) struct Recognised(pub(crate) Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = match parts.extensions.get::<Recognised>() {
            Some(Recognised(principal)) => principal.clone(),
            None => authenticate(&parts.headers, state).await?,
        };
        tracing::Span::current().record("principal", tracing::field::display(principal.id()));
        if state
            .catalog()
            .deployment()
            .tenant(&principal.tenant())
            .is_none()
        {
            return Err(refuse_unserved_tenant(parts, state, &principal).await);
        }
        Ok(Authenticated(principal))
    }
}

/// The principal the `Authorization: Bearer` credential in `headers` identifies, or the
/// `401` (or, when the authenticator cannot decide, `500`) that answers it.
pub(crate) async fn authenticate(
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Principal, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            Code::CredentialsMissing,
            "send an API key in the Authorization header: `Authorization: Bearer <key>`",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                Code::CredentialsInvalid,
                "the Authorization header must be `Bearer <key>`",
            )
        })?;
    match state.authenticator().authenticate(BearerToken(token)).await {
        Ok(principal) => Ok(principal),
        Err(AuthError::NotRecognised) => Err(ApiError::new(
            Code::CredentialsInvalid,
            "the API key is not recognised; check that it is complete and not revoked",
        )),
        Err(AuthError::Invalid(reason)) => Err(ApiError::new(Code::CredentialsInvalid, reason)),
        Err(AuthError::Unavailable(source)) => Err(ApiError::new(
            Code::InternalError,
            "authentication is unavailable; try again shortly",
        )
        .with_source(source)),
    }
}

/// The audit action of a request refused at authentication.
const AUTHENTICATE: AuditAction = AuditAction::Authenticate;

/// A principal whose tenant the catalog does not serve is refused on every route, before
/// any handler runs: `403 tenant_unknown`, audited. `datavern serve` also refuses to start
/// with such a principal; this catches a catalog that changed under a running
/// authenticator, and authenticators (such as OIDC) whose principals are not known up front.
async fn refuse_unserved_tenant(
    parts: &mut Parts,
    state: &AppState,
    principal: &Principal,
) -> ApiError {
    let Ok(crate::routes::Meta(meta)) = crate::routes::Meta::from_request_parts(parts, state).await;
    let refusal = ApiError::new(
        Code::TenantUnknown,
        format!(
            "principal `{}` acts for tenant {}, which this deployment's catalog does not serve",
            principal.id(),
            principal.tenant()
        ),
    );
    // Fail closed: a refusal that cannot be audited is an error, and still no access.
    crate::audited::refusal(state, principal, &meta, AUTHENTICATE, refusal).await
}
