//! Reference data named by id or by the key its users know: a filter that takes a region,
//! cluster, municipality, institution, theme or product type takes its global id or its key
//! (`rso-vest`, `sor-rogaland`, `uib`, `public-health`; a municipality's four-digit number,
//! `4601`), so a dashboard need not look ids up first.

use async_graphql::{Context, ID};

use crate::{
    db::{organisations::read::by_key_or_code, reference::id_by_key},
    error::AppError,
    graphql::{
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{ClusterById, CountyById, InstitutionById, MunicipalityById, RegionById},
        user_error::{UserErrorCode, UserErrors},
    },
};

/// The id of the `node_type` object `value` names. A global id is taken as it is (one of
/// another type is `BAD_USER_INPUT`, as everywhere); anything else must be the key of such an
/// object, or it is `BAD_USER_INPUT` too.
pub async fn id_or_key(ctx: &Context<'_>, value: &ID, node_type: NodeType) -> Result<i32, AppError> {
    if let Ok(global) = GlobalId::decode(value) {
        return global.key_as(value, node_type);
    }
    let key = value.as_str();
    id_by_key(ctx.db()?.conn(), node_type, key).await?.ok_or_else(|| {
        AppError::bad_input(format!("`{key}` is neither an id nor the key of a {}", node_type.name()))
    })
}

/// `id_or_key` for a mutation's input: the id, or a BAD_USER_INPUT user error on `field`.
pub async fn named(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    field: &str,
    value: &ID,
    node_type: NodeType,
) -> Result<Option<i32>, AppError> {
    match id_or_key(ctx, value, node_type).await {
        Ok(id) => Ok(Some(id)),
        Err(AppError::BadUserInput(message)) => {
            errors.add(field, UserErrorCode::BadUserInput, message);
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// `id_or_key` for an optional argument.
pub async fn optional(
    ctx: &Context<'_>,
    value: Option<&ID>,
    node_type: NodeType,
) -> Result<Option<i32>, AppError> {
    match value {
        Some(value) => id_or_key(ctx, value, node_type).await.map(Some),
        None => Ok(None),
    }
}

/// `id_or_key` for every value of an optional list; no list is an empty one.
pub async fn all(
    ctx: &Context<'_>,
    values: Option<&[ID]>,
    node_type: NodeType,
) -> Result<Vec<i32>, AppError> {
    let mut ids = Vec::new();
    for value in values.unwrap_or_default() {
        ids.push(id_or_key(ctx, value, node_type).await?);
    }
    Ok(ids)
}

/// The organisation `value` names: its id; the id of its typed row (a `Municipality`, `County`,
/// `Cluster`, `Region` or `Institution` id gives that row's organisation); or its key or official
/// number (`omradesatsingene`, `4601`, `030115`). `None` when an id names nothing; an id of
/// another type, or a key nothing has, is `BAD_USER_INPUT`.
pub async fn organisation(ctx: &Context<'_>, value: &ID) -> Result<Option<i32>, AppError> {
    let Ok(global) = GlobalId::decode(value) else {
        return id_or_key(ctx, value, NodeType::Organisation).await.map(Some);
    };
    typed_organisation(ctx, value, global).await
}

/// The organisation a mutation's input names (as [`organisation`] takes it), or a user error on
/// `field`: NOT_FOUND when nothing has that id, key or number, BAD_USER_INPUT for an id of
/// another type.
pub async fn named_organisation(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    field: &str,
    value: &ID,
) -> Result<Option<i32>, AppError> {
    let found = match GlobalId::decode(value) {
        Ok(global) => typed_organisation(ctx, value, global).await,
        Err(_) => Ok(by_key_or_code(ctx.db()?.conn(), value.as_str()).await?.map(|o| o.id)),
    };
    match found {
        Ok(Some(id)) => Ok(Some(id)),
        Ok(None) => {
            errors.add(field, UserErrorCode::NotFound, "no such organisation");
            Ok(None)
        }
        Err(AppError::BadUserInput(message)) => {
            errors.add(field, UserErrorCode::BadUserInput, message);
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// The organisation of a global id: an `Organisation`'s own, or a typed row's.
async fn typed_organisation(
    ctx: &Context<'_>,
    value: &ID,
    global: GlobalId,
) -> Result<Option<i32>, AppError> {
    let loader = ctx.loader()?;
    Ok(match global.node_type {
        NodeType::Municipality => {
            loader.load_one(MunicipalityById(global.key)).await?.and_then(|m| m.organisation_id)
        }
        NodeType::County => loader.load_one(CountyById(global.key)).await?.and_then(|c| c.organisation_id),
        NodeType::Cluster => loader.load_one(ClusterById(global.key)).await?.and_then(|c| c.organisation_id),
        NodeType::Region => loader.load_one(RegionById(global.key)).await?.and_then(|r| r.organisation_id),
        NodeType::Institution => {
            loader.load_one(InstitutionById(global.key)).await?.and_then(|i| i.organisation_id)
        }
        _ => Some(global.key_as(value, NodeType::Organisation)?),
    })
}
