//! Reference data named by id or by the key its users know: a filter that takes a region,
//! cluster, municipality, institution, theme or product type takes its global id or its key
//! (`rso-vest`, `sor-rogaland`, `uib`, `public-health`; a municipality's four-digit number,
//! `4601`), so a dashboard need not look ids up first.

use async_graphql::{Context, ID};
use entity::{cluster, institution, municipality, product_type, region, theme};

use crate::{
    db::reference::by_key,
    error::AppError,
    graphql::{
        context::ContextExt,
        ids::{GlobalId, NodeType},
    },
};

/// The id of the `node_type` object `value` names. A global id is taken as it is (one of
/// another type is `BAD_USER_INPUT`, as everywhere); anything else must be the key of such an
/// object, or it is `BAD_USER_INPUT` too.
pub async fn id_or_key(ctx: &Context<'_>, value: &ID, node_type: NodeType) -> Result<i32, AppError> {
    if GlobalId::decode(value).is_ok() {
        return GlobalId::decode_as(value, node_type);
    }
    let conn = ctx.db()?.conn();
    let key = value.as_str();
    let found = match node_type {
        NodeType::Region => by_key::<region::Entity>(conn, region::Column::Key, key).await?.map(|r| r.id),
        NodeType::Cluster => by_key::<cluster::Entity>(conn, cluster::Column::Key, key).await?.map(|c| c.id),
        NodeType::Municipality => {
            by_key::<municipality::Entity>(conn, municipality::Column::Code, key).await?.map(|m| m.id)
        }
        NodeType::Institution => {
            by_key::<institution::Entity>(conn, institution::Column::Key, key).await?.map(|i| i.id)
        }
        NodeType::Theme => by_key::<theme::Entity>(conn, theme::Column::Key, key).await?.map(|t| t.id),
        NodeType::ProductType => {
            by_key::<product_type::Entity>(conn, product_type::Column::Key, key).await?.map(|p| p.id)
        }
        _ => None,
    };
    found.ok_or_else(|| {
        AppError::bad_input(format!("`{key}` is neither an id nor the key of a {}", node_type.name()))
    })
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
