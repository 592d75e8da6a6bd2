//! People, memberships and tokens: look-ups, and the writes (each one transaction with its
//! audit event).
//!
//! - `grants`: a token with its owner's grants (the authenticator's one query) and the grants of
//!   several people (the policy's, through DataLoaders).
//! - `lookups`: people by e-mail and by region, the regions people are registered in, tokens'
//!   bounds and a person's tokens.
//! - `people`: create, register and unregister a person; add and remove a membership.
//! - `tokens`: create, revoke and touch a token.
//!
//! The aliases and joins below are shared by the statements of `grants` and `lookups`.

mod grants;
mod lookups;
mod people;
mod tokens;

use entity::{
    api_token, api_token_partnership, cluster, county, enums::Role, institution, membership, municipality,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, JoinType, Query, SelectStatement};

pub use grants::{GrantRow, TokenGrants, grants_of, token_grants};
pub use lookups::{people_in_regions, person_by_email, registered_regions_of, token_bounds, tokens_of};
pub use people::{
    NewMembership, add_membership, create_person, register_person, remove_membership, unregister_person,
};
pub use tokens::{CreatedToken, TokenLimits, create_token, revoke_token, touch_token};

// The aliases in the statements of `grants` and `lookups`: a membership and its organisation
// (cluster, municipality, the municipality's county, institution); a token, its owner and its
// bound regions; and a membership of the person who bounds a token.
const M: &str = "m";
const C: &str = "c";
const MU: &str = "mu";
const CO: &str = "co";
const I: &str = "i";
const T: &str = "t";
const P: &str = "p";
const R: &str = "r";
const BM: &str = "bm";

/// The region of membership `m`'s organisation, whatever its kind (see `grant_joins`).
fn organisation_region() -> Expr {
    Func::coalesce([
        Expr::col((M, membership::Column::PartnershipId)),
        Expr::col((C, cluster::Column::PartnershipId)),
        Expr::col((CO, county::Column::PartnershipId)),
        Expr::col((I, institution::Column::PartnershipId)),
    ])
    .into()
}

/// The organisation of membership `m`, whatever its kind, for `organisation_region`.
fn grant_joins(select: &mut SelectStatement) {
    let left = JoinType::LeftJoin;
    select
        .join_as(
            left,
            cluster::Entity,
            C,
            Expr::col((C, cluster::Column::OrganisationId)).equals((M, membership::Column::OrganisationId)),
        )
        .join_as(
            left,
            municipality::Entity,
            MU,
            Expr::col((MU, municipality::Column::OrganisationId))
                .equals((M, membership::Column::OrganisationId)),
        )
        .join_as(
            left,
            county::Entity,
            CO,
            Expr::col((CO, county::Column::Id)).equals((MU, municipality::Column::CountyId)),
        )
        .join_as(
            left,
            institution::Entity,
            I,
            Expr::col((I, institution::Column::OrganisationId))
                .equals((M, membership::Column::OrganisationId)),
        );
}

/// Whether the person bounding token `t` coordinates bound region `r` now, so a coordinator who
/// loses a region takes it from every token they bound.
fn still_coordinated() -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::Constant(1.into()))
            .from_as(membership::Entity, BM)
            .and_where(
                Expr::col((BM, membership::Column::PersonId)).equals((T, api_token::Column::BoundByPersonId)),
            )
            .and_where(Expr::col((BM, membership::Column::Role)).eq(Role::Coordinator))
            .and_where(
                Expr::col((BM, membership::Column::PartnershipId))
                    .equals((R, api_token_partnership::Column::PartnershipId)),
            )
            .to_owned(),
    )
}
