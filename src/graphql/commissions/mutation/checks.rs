//! The checks the commissions' mutations share: the caller, the commission acted on (one they
//! may see), the institution acted for, and checked text.

use async_graphql::{Context, ID};
use entity::commission;

use crate::{
    auth::Action,
    auth::policy::allowed,
    domain::needs::text,
    error::{AppError, Result},
    graphql::{
        commissions::types::visible_commission,
        context::ContextExt,
        ids::{GlobalId, NodeType},
        user_error::{UserErrorCode, UserErrors},
    },
};

pub(super) fn me(ctx: &Context<'_>) -> Result<i32, AppError> {
    ctx.viewer()?.require_person()
}

/// A commission the caller may see, by id; NOT_FOUND as a user error otherwise.
pub(super) async fn find(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    id: &ID,
) -> Result<Option<commission::Model>, AppError> {
    let Some(key) = errors.id("commission", GlobalId::decode_as(id, NodeType::Commission)) else {
        return Ok(None);
    };
    let found = visible_commission(ctx, key).await?;
    if found.is_none() {
        errors.add("commission", UserErrorCode::NotFound, "no such commission");
    }
    Ok(found)
}

/// The institution acted for: the given one, or the caller's only one; FORBIDDEN unless a member.
pub(super) fn acting_institution(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    given: Option<&ID>,
) -> Result<Option<i32>, AppError> {
    let viewer = ctx.viewer()?;
    let id = match given {
        Some(id) => errors.id("institution", GlobalId::decode_as(id, NodeType::Institution)),
        None => match viewer.member_institutions().as_slice() {
            [only] => Some(*only),
            [] => return Err(AppError::Forbidden(allowed::ACT_FOR_INSTITUTION)),
            _ => {
                errors.add("institution", UserErrorCode::BadUserInput, "say which institution you act for");
                None
            }
        },
    };
    if let Some(institution_id) = id {
        viewer.require(Action::ActForInstitution { institution_id })?;
    }
    Ok(id)
}

pub(super) fn checked(errors: &mut UserErrors, field: &'static str, raw: &str, max: usize) -> String {
    text(field, raw, 1, max).unwrap_or_else(|p| {
        errors.add(p.field, UserErrorCode::BadUserInput, p.message);
        String::new()
    })
}
