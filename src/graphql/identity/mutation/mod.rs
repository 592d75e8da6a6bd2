//! Mutations on people, memberships and tokens. Each checks, in this order: a valid token
//! (`UNAUTHENTICATED`), the role guard of the operation (`FORBIDDEN`), the input (`userErrors`,
//! where an id the caller may not see is `NOT_FOUND`), the region of what it touches
//! (`FORBIDDEN`); then it writes, with its audit event, in one transaction.
//!
//! Three parts, merged in the order the schema lists their fields: people and their memberships
//! (`people.rs`), tokens (`tokens.rs`), and the caller's notification preferences
//! (`../preferences.rs`).

use async_graphql::MergedObject;

use crate::{auth::Viewer, db::audit::Actor, error::AppError};

mod people;
mod tokens;

pub use people::{
    AddMembershipInput, AddMembershipPayload, CreatePersonInput, CreatePersonPayload, MembershipInput,
    PeopleMutation, RemoveMembershipInput, RemoveMembershipPayload, UnregisterPersonInput,
    UnregisterPersonPayload,
};
pub use tokens::{
    CreateTokenInput, CreateTokenPayload, RevokeTokenInput, RevokeTokenPayload, TokensMutation,
};

/// The identity mutations. The order of the parts is the order of their fields in the schema.
#[derive(MergedObject, Default)]
pub struct IdentityMutation(PeopleMutation, TokensMutation, super::preferences::PreferencesMutation);

/// Who the audit log says acted: the caller's person and token.
pub(super) fn actor(viewer: &Viewer) -> Result<Actor, AppError> {
    let identity = viewer.identity().ok_or(AppError::Unauthenticated)?;
    Ok(Actor::Person { person_id: identity.person_id, token_id: identity.token_id })
}
