//! Turns an `Authorization: Bearer ...` value into a `Viewer`.
//!
//! A token costs one indexed query (token, memberships and their regions in one statement), and
//! the result is cached for a few seconds, so a busy client costs almost nothing. Revocation and
//! membership changes clear this process's cache at once; other instances see them within
//! `CACHE_TTL`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;

use crate::{
    auth::viewer::{Grant, Identity, Viewer},
    db::{
        Db,
        identity::{self, GrantRow, TokenKey},
    },
    domain::token,
    error::AppError,
};

/// How long a looked-up token is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; beyond it the cache is cleared (a crude bound that is never hit in practice).
const CACHE_CAPACITY: usize = 10_000;

/// Token hash -> (trusted until, identity).
type Cache = HashMap<String, (Instant, Arc<Identity>)>;

/// The token of an `Authorization` value in the Bearer scheme (the scheme in any case, as
/// RFC 7235 has it), or `None` for another scheme or a bare token.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The header is not `Bearer <token>`.
    NotBearer,
    /// A credential sent somewhere else than `Authorization` (a WebSocket's `connection_init`).
    Misplaced,
    /// Not the shape of a token.
    Malformed,
    /// No such token.
    Unknown,
    Revoked,
    Expired,
}

impl Reason {
    /// As the audit log and the 401's message name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotBearer => "not a bearer token",
            Self::Misplaced => "a credential outside Authorization",
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// A refused token: why, and, for a real token (revoked or expired), whose it is and the region
/// whose audit log it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub token_id: Option<i32>,
    pub person_id: Option<i32>,
    pub partnership_id: Option<i32>,
}

impl Refusal {
    fn because(reason: Reason) -> Self {
        Self { reason, token_id: None, person_id: None, partnership_id: None }
    }

    /// A header that is not even text.
    pub fn malformed() -> Self {
        Self::because(Reason::Malformed)
    }

    /// An `Authorization` value of another scheme than Bearer.
    pub fn not_bearer() -> Self {
        Self::because(Reason::NotBearer)
    }

    /// A credential where none belongs.
    pub fn misplaced() -> Self {
        Self::because(Reason::Misplaced)
    }
}

/// Why no viewer came of a header: the token was refused, or it could not be checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Denied {
    Refused(Refusal),
    Failed(AppError),
}

#[derive(Clone)]
pub struct Authenticator {
    db: Db,
    cache: Arc<Mutex<Cache>>,
}

impl Authenticator {
    pub fn new(db: Db) -> Self {
        Self { db, cache: Default::default() }
    }

    /// The viewer for an `Authorization` header value; no header is the public.
    pub async fn viewer(&self, authorization: Option<&str>) -> Result<Viewer, Denied> {
        let Some(value) = authorization else {
            return Ok(Viewer::public());
        };
        let secret = bearer(value).ok_or(Denied::Refused(Refusal::not_bearer()))?;
        self.identity(secret).await.map(Viewer::authenticated)
    }

    /// The identity behind a secret; malformed, unknown, expired and revoked are refused, with
    /// the reason and, for a real token, whose it is.
    pub async fn identity(&self, secret: &str) -> Result<Arc<Identity>, Denied> {
        if !token::is_well_formed(secret) {
            return Err(Denied::Refused(Refusal::because(Reason::Malformed)));
        }
        let hash = token::hash(secret);
        if let Some(identity) = self.cached(&hash) {
            return Ok(identity);
        }
        let found = identity::token_grants(&self.db, TokenKey::Hash(&hash))
            .await
            .map_err(|e| Denied::Failed(e.into()))?
            .ok_or(Denied::Refused(Refusal::because(Reason::Unknown)))?;
        let expires_at = found.expires_at;
        let identity = self.admit(found)?;
        self.remember(hash, identity.clone(), expires_at);
        Ok(identity)
    }

    /// The identity behind the token with this id, checked now as a request's token is (revoked
    /// or expired is refused), without the cache: a signed link made with the token acts with
    /// the token's rights at the moment it is used.
    pub async fn identity_of_token(&self, token_id: i32) -> Result<Arc<Identity>, Denied> {
        let found = identity::token_grants(&self.db, TokenKey::Id(token_id))
            .await
            .map_err(|e| Denied::Failed(e.into()))?
            .ok_or(Denied::Refused(Refusal::because(Reason::Unknown)))?;
        self.admit(found)
    }

    /// The identity of a token found in the database, unless it is revoked or expired; its
    /// "last used" is recorded off the request path.
    fn admit(&self, found: identity::TokenGrants) -> Result<Arc<Identity>, Denied> {
        let now = Utc::now();
        let reason = if found.revoked_at.is_some() {
            Some(Reason::Revoked)
        } else if found.expires_at.is_some_and(|at| at <= now) {
            Some(Reason::Expired)
        } else {
            None
        };
        if let Some(reason) = reason {
            // A real token: the refusal concerns its owner's region.
            let partnership_id = found
                .home_partnership_id
                .or_else(|| found.grants.iter().find_map(|g| g.managed_by.first().copied()));
            return Err(Denied::Refused(Refusal {
                reason,
                token_id: Some(found.token_id),
                person_id: Some(found.person_id),
                partnership_id,
            }));
        }
        if found.last_used_at.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
            // Off the request path: a reader does not wait for (or fail on) a write.
            let (db, token_id) = (self.db.clone(), found.token_id);
            tokio::spawn(async move {
                if let Err(err) = identity::touch_token(&db, token_id, now).await {
                    tracing::warn!(error = %err, token_id, "recording token use");
                }
            });
        }
        Ok(Arc::new(Identity {
            person_id: found.person_id,
            token_id: found.token_id,
            minted_by: found.minted_by_person_id,
            grants: found.grants.iter().map(grant).collect(),
            bound: found.bound,
            bound_by: found.bound_by_person_id,
        }))
    }

    /// Forgets every cached token, after a change to tokens or memberships.
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    fn cached(&self, hash: &str) -> Option<Arc<Identity>> {
        let cache = self.cache.lock().ok()?;
        let (until, identity) = cache.get(hash)?;
        (Instant::now() < *until).then(|| identity.clone())
    }

    fn remember(&self, hash: String, identity: Arc<Identity>, expires_at: Option<chrono::DateTime<Utc>>) {
        // Never cache past the token's own expiry.
        let left = expires_at
            .and_then(|at| (at - Utc::now()).to_std().ok())
            .map_or(CACHE_TTL, |left| left.min(CACHE_TTL));
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(hash, (Instant::now() + left, identity));
        }
    }
}

/// A membership row as the policy sees it.
pub fn grant(row: &GrantRow) -> Grant {
    Grant {
        membership_id: row.membership_id,
        role: row.role,
        partnership_id: row.partnership_id,
        organisation_id: row.organisation_id,
        institution_id: row.institution_id,
        ancestors: row.ancestors.clone(),
        partnerships: row.partnerships.clone(),
        managed_by: row.managed_by.clone(),
        national: row.national,
    }
}
