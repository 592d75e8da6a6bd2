//! People, memberships and tokens: look-ups, and the writes (each one transaction with its
//! audit event).
//!
//! - `grants`: a token with its owner's grants (the authenticator's one query) and the grants of
//!   several people (the policy's, through DataLoaders).
//! - `lookups`: people by e-mail and by partnership, the partnerships people are registered in,
//!   tokens' bounds and a person's tokens.
//! - `people`: create, register and unregister a person; add and remove a membership.
//! - `tokens`: create, revoke and touch a token.
//!
//! The aliases and joins below are shared by the statements of `grants` and `lookups`.

mod grants;
mod lookups;
mod people;
mod tokens;

use entity::{
    api_token, api_token_partnership, enums::Role, institution, membership, organisation_ancestor,
    partnership_member,
};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query, SelectStatement};

use crate::db::organisations::read::{OA, PM, join_serving_members, nearest_members_only};

pub use grants::{GrantRow, TokenGrants, TokenKey, grants_of, token_grants};
pub use lookups::{people_in_regions, person_by_email, registered_regions_of, token_bounds, tokens_of};
pub use people::{
    HeldIn, NewMembership, add_membership, create_person, register_person, remove_membership,
    unregister_person,
};
pub use tokens::{CreatedToken, TokenLimits, create_token, revoke_token, touch_token};

// The aliases in the statements of `grants` and `lookups`: a membership and its institution; a
// token, its owner and its bound partnerships; and a membership of the person who bounds a token.
// (The closure and partnership members are `db::organisations::read`'s `oa` and `pm`.)
const M: &str = "m";
const I: &str = "i";
const T: &str = "t";
const P: &str = "p";
const R: &str = "r";
const BM: &str = "bm";

/// The partnerships serving the organisation that membership `m` (a unit or institution role) is
/// held in: a member is the organisation itself, or one above it that accepts needs. A subquery
/// over the closure selecting `column` (`pm.partnership_id` or an aggregate of it).
fn partnerships_of_membership(column: Expr) -> SelectStatement {
    let mut serving = Query::select();
    serving.expr(column).from_as(organisation_ancestor::Entity, OA);
    join_serving_members(&mut serving).and_where(
        Expr::col((OA, organisation_ancestor::Column::OrganisationId))
            .equals((M, membership::Column::OrganisationId)),
    );
    serving
}

/// Whether membership `m` is managed by one of `partnership_ids`: a coordinator's own
/// partnership, or one serving the organisation of a unit or institution role through the
/// members nearest above it.
fn membership_in(partnership_ids: &[i32]) -> Expr {
    let ids = || partnership_ids.iter().copied();
    let mut serving = partnerships_of_membership(Expr::col((PM, partnership_member::Column::PartnershipId)));
    serving
        .and_where(Expr::col((PM, partnership_member::Column::PartnershipId)).is_in(ids()))
        .and_where(nearest_members_only());
    Expr::col((M, membership::Column::PartnershipId)).is_in(ids()).or(Expr::exists(serving))
}

/// The institution a membership `m` is held in, if it is one (commissions name institutions by
/// their own ids).
fn grant_joins(select: &mut SelectStatement) {
    select.join_as(
        JoinType::LeftJoin,
        institution::Entity,
        I,
        Expr::col((I, institution::Column::OrganisationId)).equals((M, membership::Column::OrganisationId)),
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
