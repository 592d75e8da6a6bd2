//! What a document costs: the bound on its estimated cost, checked after validation (which is
//! when async-graphql has added it up), the rate-limit points the caller pays for it before it
//! runs, and `bounded`, the price of a plain list whose length has a hard bound.

use std::sync::Arc;

use async_graphql::{ServerError, ServerResult, extensions::ExtensionContext};

use super::codes::with_code;
use crate::{
    error::code,
    rate_limit::{self, Payment},
};

/// The largest estimated cost of one operation (connections count their page size, see
/// `connection::cost`): a page of 100 clusters with 100 municipalities each is about 20,000.
pub const MAX_COMPLEXITY: usize = 50_000;

/// The cost of a plain list whose length has a hard bound in the data (a need's themes, one
/// per theme; a round's criteria, at most `domain::rounds::MAX_CRITERIA`): the bound times what
/// each item costs. Lists without such a bound are connections, priced by their page size
/// (`connection::cost`).
pub fn bounded(bound: usize, child_complexity: usize) -> usize {
    bound.max(1).saturating_mul(child_complexity).saturating_add(1)
}

/// Refuses a document that costs more than `MAX_COMPLEXITY`; otherwise the caller pays for it
/// now that its cost is known, before it runs (`RATE_LIMITED` when the points are spent).
pub(super) fn pay(ctx: &ExtensionContext<'_>, complexity: usize) -> ServerResult<()> {
    if complexity > MAX_COMPLEXITY {
        return Err(with_code(
            ServerError::new(format!("query cost {complexity} is above the limit of {MAX_COMPLEXITY}"), None),
            code::QUERY_TOO_COMPLEX,
        ));
    }
    if let Some(payment) = ctx.data_opt::<Arc<Payment>>()
        && let Err(exhausted) = payment.pay(rate_limit::cost(complexity))
    {
        let mut error = ServerError::new(
            format!(
                "the rate limit of {} points per hour is spent; this request costs {}; retry in {} s",
                exhausted.limit,
                exhausted.cost,
                exhausted.retry_after.as_secs()
            ),
            None,
        );
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("retryAfter", exhausted.retry_after.as_secs());
        return Err(with_code(error, code::RATE_LIMITED));
    }
    Ok(())
}
