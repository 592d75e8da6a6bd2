//! The checks the needs' mutations share: a need's text, its references (themes, product type,
//! contact person), the unit acted for, and the need acted on (one the caller may see).

use async_graphql::{Context, ID};
use entity::need;

use crate::{
    auth::{Action, policy::NeedScope},
    domain::needs::{self as rules, FieldProblem, NeedText, WrittenText, optional_text},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        identity::types::visible_person,
        ids::{GlobalId, NodeType},
        keys,
        loaders::{MunicipalityById, ProductTypeById, ThemeById},
        needs::types::{Need, need_scope, visible_need},
        user_error::{UserErrorCode, UserErrors},
    },
};

pub(super) fn problem(errors: &mut UserErrors, result: Result<String, FieldProblem>) -> String {
    result.unwrap_or_else(|p| {
        errors.add(p.field, UserErrorCode::BadUserInput, p.message);
        String::new()
    })
}

/// A need's text, or its problems as `BAD_USER_INPUT` user errors (and an empty text).
pub(super) fn parse_text(errors: &mut UserErrors, written: WrittenText<'_>) -> NeedText {
    NeedText::parse(written).unwrap_or_else(|problems| {
        for p in problems {
            errors.add(p.field, UserErrorCode::BadUserInput, p.message);
        }
        NeedText::default()
    })
}

pub(super) fn optional(errors: &mut UserErrors, field: &'static str, raw: Option<&str>) -> Option<String> {
    optional_text(field, raw, rules::SHORT_TEXT).unwrap_or_else(|p| {
        errors.add(p.field, UserErrorCode::BadUserInput, p.message);
        None
    })
}

/// Themes and product type: ids of the right type that exist.
pub(super) async fn check_references(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    themes: &[ID],
    product_type: Option<&ID>,
) -> Result<(Vec<i32>, Option<i32>), AppError> {
    let loader = ctx.loader()?;
    let mut theme_ids = Vec::new();
    for id in themes {
        if let Some(theme) = errors.id("themes", GlobalId::decode_as(id, NodeType::Theme)) {
            if !loader.exists(ThemeById(theme)).await? {
                errors.add("themes", UserErrorCode::NotFound, "no such theme");
            } else if !theme_ids.contains(&theme) {
                theme_ids.push(theme);
            }
        }
    }
    if themes.is_empty() {
        errors.add("themes", UserErrorCode::BadUserInput, "choose at least one theme");
    }
    let product_type = match product_type {
        Some(id) => match errors.id("productType", GlobalId::decode_as(id, NodeType::ProductType)) {
            Some(pt) if loader.exists(ProductTypeById(pt)).await? => Some(pt),
            Some(_) => {
                errors.add("productType", UserErrorCode::NotFound, "no such product type");
                None
            }
            None => None,
        },
        None => None,
    };
    Ok((theme_ids, product_type))
}

/// The contact person: someone the caller can see, the caller by default.
pub(super) async fn check_contact(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    contact: Option<&ID>,
    me: i32,
) -> Result<Option<i32>, AppError> {
    let Some(id) = contact else {
        return Ok(Some(me));
    };
    let Some(person) = errors.id("contactPerson", GlobalId::decode_as(id, NodeType::Person)) else {
        return Ok(None);
    };
    if visible_person(ctx, person).await?.is_none() {
        errors.add("contactPerson", UserErrorCode::NotFound, "no such person");
        return Ok(None);
    }
    Ok(Some(person))
}

/// The unit acted for: the `organisation` given (by id, typed id, key or official number), the
/// `municipality` given, or else the caller's only unit; `forbidden` is the refusal of a caller
/// who is a member of none.
pub(super) async fn acting_unit(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    organisation: Option<&ID>,
    municipality: Option<&ID>,
    forbidden: &'static str,
) -> Result<Option<i32>, AppError> {
    let found = match (organisation, municipality) {
        (Some(_), Some(_)) => {
            errors.add(
                "organisation",
                UserErrorCode::BadUserInput,
                "name the unit once: organisation or municipality",
            );
            return Ok(None);
        }
        (Some(value), None) => return keys::named_organisation(ctx, errors, "organisation", value).await,
        (None, Some(id)) => {
            let Some(id) = errors.id("municipality", GlobalId::decode_as(id, NodeType::Municipality)) else {
                return Ok(None);
            };
            ctx.loader()?.load_one(MunicipalityById(id)).await?.and_then(|m| m.organisation_id)
        }
        (None, None) => {
            return match ctx.viewer()?.member_units().as_slice() {
                [only] => Ok(Some(*only)),
                [] => Err(AppError::Forbidden(forbidden)),
                _ => {
                    errors.add("organisation", UserErrorCode::BadUserInput, "say which unit you act for");
                    Ok(None)
                }
            };
        }
    };
    if found.is_none() {
        let field = if organisation.is_some() { "organisation" } else { "municipality" };
        errors.add(field, UserErrorCode::NotFound, "no such organisation");
    }
    Ok(found)
}

/// A need the caller may see, by id; `NOT_FOUND` (as a user error) otherwise.
pub(super) async fn find_need(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    field: &str,
    id: &ID,
) -> Result<Option<(need::Model, NeedScope)>, AppError> {
    let Some(key) = errors.id(field, GlobalId::decode_as(id, NodeType::Need)) else {
        return Ok(None);
    };
    match visible_need(ctx, key).await? {
        Some(Need(need, _)) => {
            let scope = need_scope(ctx, &need).await?;
            Ok(Some((need, scope)))
        }
        None => {
            errors.add(field, UserErrorCode::NotFound, "no such need");
            Ok(None)
        }
    }
}

/// What a move of a need does: a move of the state machine, or a hand-over out of the
/// partnership (which also changes where the need is).
#[derive(Clone, Copy, Debug)]
pub(super) enum Step {
    Move(rules::Move),
    HandOver(crate::db::needs::Handover),
}

/// Who may make a move: the unit that raised the need, its reviewers, or the coordinators of its
/// partnership.
#[derive(Clone, Copy)]
pub(super) enum Who {
    Owner,
    Reviewer,
    Curator,
}

impl Who {
    pub(super) fn action(self, scope: &NeedScope) -> Action<'_> {
        match self {
            Who::Owner => Action::EditNeed(scope),
            Who::Reviewer => Action::ReviewNeed(scope),
            Who::Curator => Action::CurateNeed(scope),
        }
    }
}
