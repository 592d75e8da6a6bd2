//! Cost-based rate limiting, GitHub-style: every caller has a budget of points per hour (per
//! person, whichever of their tokens they use, or per IP address for the public); a request costs `1 + complexity / 100` points, where the
//! complexity is the estimate the complexity limit uses (a connection costs its page size times
//! what each item costs). A request the budget cannot pay is refused before it runs, with 429 and
//! `Retry-After`; other callers are unaffected.
//!
//! Budgets refill continuously (a token bucket holding one hour's budget), so a caller who spent
//! everything may go on at the hourly rate rather than wait for a window to reset. Budgets are
//! kept in memory, per instance: behind a load balancer with N instances a caller may spend up to
//! N budgets.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::auth::Viewer;

/// Who pays for a request: a person (all their tokens share one budget, so a second token buys
/// nothing), or the public's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    Person(i32),
    Address(IpAddr),
}

/// What a refused token costs its address: refusals are not free, so guessing tokens from one
/// address soon meets 429 (a public budget of 1,000 pays for 100 refusals an hour).
pub const REFUSED_TOKEN_COST: u32 = 10;

/// The cost of a request of this complexity.
pub fn cost(complexity: usize) -> u32 {
    u32::try_from(1 + complexity / 100).unwrap_or(u32::MAX)
}

/// What a paid request leaves (reported in the response's `extensions.rateLimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spent {
    pub cost: u32,
    pub remaining: u32,
    pub limit: u32,
}

/// A request the budget cannot pay, and when it could.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exhausted {
    pub cost: u32,
    pub limit: u32,
    pub retry_after: Duration,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    points: f64,
    at: Instant,
}

/// Buckets above this many are swept of those that have refilled (idle callers).
const SWEEP_ABOVE: usize = 10_000;

pub struct RateLimiter {
    token_budget: u32,
    public_budget: u32,
    buckets: Mutex<HashMap<Caller, Bucket>>,
}

impl RateLimiter {
    /// Budgets in points per hour for token holders and for the public (per IP address).
    pub fn new(token_budget: u32, public_budget: u32) -> Self {
        Self {
            token_budget: token_budget.max(1),
            public_budget: public_budget.max(1),
            buckets: Mutex::default(),
        }
    }

    fn budget(&self, caller: &Caller) -> u32 {
        match caller {
            Caller::Person(_) => self.token_budget,
            Caller::Address(_) => self.public_budget,
        }
    }

    /// Pays `cost` from the caller's budget, or says when it could be paid.
    pub fn spend(&self, caller: Caller, cost: u32) -> Result<Spent, Exhausted> {
        self.spend_at(caller, cost, Instant::now())
    }

    fn spend_at(&self, caller: Caller, cost: u32, now: Instant) -> Result<Spent, Exhausted> {
        let limit = self.budget(&caller);
        let per_second = f64::from(limit) / 3600.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|c, b| {
                let full = f64::from(self.budget(c));
                b.points + now.saturating_duration_since(b.at).as_secs_f64() * full / 3600.0 < full
            });
        }
        let bucket = buckets.entry(caller).or_insert(Bucket { points: f64::from(limit), at: now });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.points = (bucket.points + refilled).min(f64::from(limit));
        bucket.at = now;
        let wanted = f64::from(cost);
        if bucket.points < wanted {
            let wait = ((wanted - bucket.points) / per_second).ceil().max(1.0);
            return Err(Exhausted { cost, limit, retry_after: Duration::from_secs_f64(wait) });
        }
        bucket.points -= wanted;
        Ok(Spent { cost, remaining: bucket.points.floor() as u32, limit })
    }
}

/// One request's payment: who pays, from which limiter, and what paying came to (the GraphQL
/// layer pays once it knows the complexity, before anything runs; the HTTP layer reports it).
pub struct Payment {
    limiter: Arc<RateLimiter>,
    caller: Caller,
    outcome: Mutex<Option<Result<Spent, Exhausted>>>,
}

impl Payment {
    pub fn new(limiter: Arc<RateLimiter>, caller: Caller) -> Self {
        Self { limiter, caller, outcome: Mutex::new(None) }
    }

    /// The payment of a request by `viewer` from `address` (over HTTP or WebSocket): a token
    /// holder pays from their person's budget, the public from its address's; `None` when the
    /// public's address is unknown.
    pub fn of(limiter: &Arc<RateLimiter>, viewer: &Viewer, address: Option<IpAddr>) -> Option<Arc<Self>> {
        let caller = match viewer.identity() {
            Some(identity) => Caller::Person(identity.person_id),
            None => Caller::Address(address?),
        };
        Some(Arc::new(Self::new(limiter.clone(), caller)))
    }

    pub fn pay(&self, cost: u32) -> Result<Spent, Exhausted> {
        let outcome = self.limiter.spend(self.caller, cost);
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(outcome);
        }
        outcome
    }

    /// What paying came to; `None` if the request never got as far as paying.
    pub fn outcome(&self) -> Option<Result<Spent, Exhausted>> {
        self.outcome.lock().ok().and_then(|slot| *slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_then_refills_at_the_hourly_rate() {
        let limiter = RateLimiter::new(3600, 10);
        let caller = Caller::Person(1);
        let start = Instant::now();
        assert_eq!(
            limiter.spend_at(caller, 3000, start),
            Ok(Spent { cost: 3000, remaining: 600, limit: 3600 })
        );
        let refused = limiter.spend_at(caller, 1000, start).expect_err("spent");
        assert_eq!(refused.retry_after, Duration::from_secs(400), "one point a second");
        let later = start + Duration::from_secs(400);
        assert_eq!(limiter.spend_at(caller, 1000, later).map(|s| s.remaining), Ok(0));
    }

    #[test]
    fn callers_have_their_own_budgets() {
        let limiter = RateLimiter::new(100, 2);
        let public = Caller::Address("10.0.0.1".parse().expect("an address"));
        let other = Caller::Address("10.0.0.2".parse().expect("an address"));
        assert!(limiter.spend(public, 2).is_ok());
        assert!(limiter.spend(public, 1).is_err());
        assert!(limiter.spend(other, 1).is_ok());
        assert!(limiter.spend(Caller::Person(7), 100).is_ok());
    }

    #[test]
    fn cost_follows_complexity() {
        assert_eq!((cost(0), cost(99), cost(100), cost(50_000)), (1, 1, 2, 501));
    }
}
