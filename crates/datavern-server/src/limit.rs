//! Limits that keep one client from exhausting the server: how many connections are open
//! (in all, and per client address) and how many requests a client address or a principal
//! may send (GCRA rate limits from `governor`).
//!
//! A refused connection is closed as soon as it is accepted and counted in
//! `datavern_http_connections_refused_total`. A request over a rate limit is answered
//! `429 rate_limited` with `Retry-After`, counted in `datavern_http_rate_limited_total`, and,
//! when the principal is known, recorded in the audit log at most once per principal a
//! minute (`http.rate_limited`): the audit log shows who was throttled without a flood
//! writing one entry per refused request. Unauthenticated requests over the per-address
//! limit are counted, never audited: no one could be named, and an anonymous flood must not
//! be able to fill the audit log.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use datavern_core::access::Principal;
use datavern_store::RequestMeta;
use datavern_store::audit::AuditAction;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics::counter;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audited;
use crate::auth::{self, Recognised};
use crate::config::{RateLimit, ServerConfig};
use crate::error::{ApiError, Code};
use crate::metrics::{CONNECTIONS_REFUSED_TOTAL, RATE_LIMITED_TOTAL};
use crate::middleware::REQUEST_ID_HEADER;
use crate::state::AppState;

/// The audit action of a request refused by the per-principal rate limit.
pub const RATE_LIMITED_ACTION: &str = AuditAction::RateLimited.as_str();

/// A client address as limits count it: an IPv4 address, or the /64 prefix of an IPv6
/// address (one host usually holds a whole /64, so counting single addresses would let it
/// rotate around any limit). IPv4-mapped IPv6 addresses count as their IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(IpAddr);

impl ClientKey {
    pub(crate) fn of(ip: IpAddr) -> ClientKey {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                ClientKey(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        }
    }
}

/// Open connections per client address.
type OpenPerClient = Arc<Mutex<HashMap<ClientKey, usize>>>;

/// The open connections, in all and per client address.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionLimits {
    total: Arc<Semaphore>,
    per_client: Option<(usize, OpenPerClient)>,
}

/// A connection admitted: while it is held, it counts against the limits.
#[derive(Debug)]
pub(crate) struct ConnectionSlot {
    _permit: OwnedSemaphorePermit,
    client: Option<(ClientKey, OpenPerClient)>,
}

/// Why a connection was refused (the `reason` label of the refusal counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionRefusal {
    /// `max_connections` are open.
    Total,
    /// `max_connections_per_ip` are open from this client address.
    PerClient,
}

impl ConnectionLimits {
    pub(crate) fn new(config: &ServerConfig) -> Self {
        ConnectionLimits {
            total: Arc::new(Semaphore::new(config.max_connections.max(1))),
            per_client: config
                .max_connections_per_ip
                .map(|max| (max.max(1), Arc::default())),
        }
    }

    /// A slot for a connection from `ip`, or why not.
    pub(crate) fn admit(&self, ip: IpAddr) -> Result<ConnectionSlot, ConnectionRefusal> {
        let permit = Arc::clone(&self.total)
            .try_acquire_owned()
            .map_err(|_| ConnectionRefusal::Total)?;
        let client = match &self.per_client {
            None => None,
            Some((max, open)) => {
                let key = ClientKey::of(ip);
                let mut counts = open.lock().unwrap_or_else(PoisonError::into_inner);
                let count = counts.entry(key).or_insert(0);
                if *count >= *max {
                    return Err(ConnectionRefusal::PerClient);
                }
                *count += 1;
                Some((key, Arc::clone(open)))
            }
        };
        Ok(ConnectionSlot {
            _permit: permit,
            client,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Some((key, open)) = &self.client {
            let mut counts = open.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = counts.get_mut(key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.remove(key);
                }
            }
        }
    }
}

impl ConnectionRefusal {
    /// Counts the refusal.
    pub(crate) fn count(self) {
        let reason = match self {
            ConnectionRefusal::Total => "max_connections",
            ConnectionRefusal::PerClient => "max_connections_per_ip",
        };
        counter!(CONNECTIONS_REFUSED_TOTAL, "reason" => reason).increment(1);
    }
}

/// The rate limiters of one server, and the state the middleware needs to name a principal
/// and audit.
#[derive(Clone)]
pub(crate) struct RateLimits {
    inner: Arc<Limiters>,
    /// `None` only in unit tests of the middleware, which have no store.
    state: Option<AppState>,
}

struct Limiters {
    per_client: Option<DefaultKeyedRateLimiter<ClientKey>>,
    per_principal: Option<DefaultKeyedRateLimiter<PrincipalKey>>,
    /// One audit entry per principal a minute, however many requests are refused.
    audit_gate: DefaultKeyedRateLimiter<PrincipalKey>,
    clock: DefaultClock,
}

/// A principal as the per-principal limit counts it: tenant and id.
type PrincipalKey = (String, String);

impl RateLimits {
    pub(crate) fn new(config: &ServerConfig, state: AppState) -> Self {
        RateLimits {
            inner: Self::limiters(config),
            state: Some(state),
        }
    }

    /// The per-address limit of `config` only (no principal can be named without a state).
    #[cfg(test)]
    pub(crate) fn without_state(config: &ServerConfig) -> Self {
        RateLimits {
            inner: Self::limiters(config),
            state: None,
        }
    }

    fn limiters(config: &ServerConfig) -> Arc<Limiters> {
        Arc::new(Limiters {
            per_client: config.rate_limit_per_ip.map(limiter),
            per_principal: config.rate_limit_per_principal.map(limiter),
            audit_gate: RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
            clock: DefaultClock::default(),
        })
    }

    /// Forgets clients and principals whose limits have fully replenished, so that memory
    /// stays bounded by the clients seen recently; run periodically.
    pub(crate) fn forget_idle(&self) {
        if let Some(limiter) = &self.inner.per_client {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.inner.per_principal {
            limiter.retain_recent();
        }
        self.inner.audit_gate.retain_recent();
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(limit: RateLimit) -> DefaultKeyedRateLimiter<K> {
    RateLimiter::keyed(Quota::per_minute(limit.per_minute).allow_burst(limit.burst))
}

/// Middleware: refuses a request over the per-address or the per-principal rate limit with
/// `429 rate_limited` and `Retry-After`.
pub(crate) async fn rate_limit(
    State(limits): State<RateLimits>,
    mut request: Request,
    next: Next,
) -> Response {
    let inner = &limits.inner;
    if let Some(limiter) = &inner.per_client
        && let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(not_until) = limiter.check_key(&ClientKey::of(peer.ip()))
    {
        counter!(RATE_LIMITED_TOTAL, "scope" => "ip").increment(1);
        return too_many_requests(not_until.wait_time_from(inner.clock.now()));
    }
    if let Some(limiter) = &inner.per_principal
        && let Some(state) = &limits.state
        && let Ok(principal) = auth::authenticate(request.headers(), state).await
    {
        let key = (
            principal.tenant().to_string(),
            principal.id().as_str().to_owned(),
        );
        if let Err(not_until) = limiter.check_key(&key) {
            counter!(RATE_LIMITED_TOTAL, "scope" => "principal").increment(1);
            let wait = not_until.wait_time_from(inner.clock.now());
            let request_id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if inner.audit_gate.check_key(&key).is_ok()
                && let Err(err) = audit(state, &principal, request_id).await
            {
                return err.into_response();
            }
            return too_many_requests(wait);
        }
        // The handler's `Authenticated` takes this principal instead of authenticating the
        // credential again; a bad credential is left for it to answer.
        request.extensions_mut().insert(Recognised(principal));
    }
    next.run(request).await
}

/// Records that `principal` was throttled (at most once a minute per principal).
async fn audit(
    state: &AppState,
    principal: &Principal,
    request_id: Option<String>,
) -> Result<(), ApiError> {
    let meta = match request_id {
        Some(id) => RequestMeta::new().with_request_id(id),
        None => RequestMeta::new(),
    };
    audited::record(
        state,
        principal,
        &meta,
        AuditAction::RateLimited,
        Some(Code::RateLimited),
        |entry| entry,
    )
    .await
}

/// `429 rate_limited` with `Retry-After` in whole seconds (at least 1).
fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = ApiError::new(
        Code::RateLimited,
        format!("too many requests; try again in {seconds} s (Retry-After)"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(a), ClientKey::of(b));
        assert_ne!(ClientKey::of(a), ClientKey::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(ClientKey::of(mapped), ClientKey::of(v4));
    }

    #[test]
    fn connections_over_either_limit_are_refused_and_slots_come_back() {
        let config = ServerConfig {
            max_connections: 3,
            max_connections_per_ip: Some(2),
            ..ServerConfig::default()
        };
        let limits = ConnectionLimits::new(&config);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let a = limits.admit(one).unwrap();
        let _b = limits.admit(one).unwrap();
        assert_eq!(limits.admit(one).unwrap_err(), ConnectionRefusal::PerClient);
        let _c = limits.admit(two).unwrap();
        assert_eq!(limits.admit(two).unwrap_err(), ConnectionRefusal::Total);
        drop(a);
        assert!(limits.admit(one).is_ok());
    }
}
