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
    auth::{
        token,
        viewer::{Grant, Identity, Organisation, Viewer},
    },
    db::{
        Db,
        identity::{self, GrantRow},
    },
    error::AppError,
};

/// How long a looked-up token is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; beyond it the cache is cleared (a crude bound that is never hit in practice).
const CACHE_CAPACITY: usize = 10_000;

/// Token hash -> (trusted until, identity).
type Cache = HashMap<String, (Instant, Arc<Identity>)>;

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
    pub async fn viewer(&self, authorization: Option<&str>) -> Result<Viewer, AppError> {
        let Some(value) = authorization else {
            return Ok(Viewer::public());
        };
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(AppError::Unauthenticated)?;
        self.identity(secret).await.map(Viewer::authenticated)
    }

    /// The identity behind a secret; malformed, unknown, expired and revoked are all `UNAUTHENTICATED`.
    pub async fn identity(&self, secret: &str) -> Result<Arc<Identity>, AppError> {
        if !token::is_well_formed(secret) {
            return Err(AppError::Unauthenticated);
        }
        let hash = token::hash(secret);
        if let Some(identity) = self.cached(&hash) {
            return Ok(identity);
        }
        let found = identity::token_grants(&self.db, &hash).await?.ok_or(AppError::Unauthenticated)?;
        let now = Utc::now();
        if found.revoked_at.is_some() || found.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::Unauthenticated);
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
        let identity = Arc::new(Identity {
            person_id: found.person_id,
            token_id: found.token_id,
            grants: found.grants.iter().map(grant).collect(),
        });
        self.remember(hash, identity.clone(), found.expires_at);
        Ok(identity)
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
    let organisation = match (row.region_id, row.cluster_id, row.municipality_id, row.institution_id) {
        (Some(id), ..) => Organisation::Region(id),
        (_, Some(id), ..) => Organisation::Cluster(id),
        (_, _, Some(id), _) => Organisation::Municipality { id, cluster_id: row.municipality_cluster_id },
        (_, _, _, Some(id)) => Organisation::Institution(id),
        // The CHECK constraint makes this impossible; an empty region grants nothing.
        (None, None, None, None) => Organisation::Region(0),
    };
    Grant { membership_id: row.membership_id, role: row.role, organisation, region_id: row.org_region_id }
}
