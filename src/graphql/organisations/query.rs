//! Root query fields for the organisation tree and partnerships. Public: no token needed.

use async_graphql::{Context, ID, InputObject, Object};
use entity::enums::OrganisationKind;

use crate::{
    db::organisations::read::{self, Kinds, OrganisationFilter as DbFilter},
    error::{AppError, Result},
    graphql::{
        connection::{ChildCount, Page, PageArgs, cost, paginate, paginate_with},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        keys,
        loaders::{ClusterById, CountyById, InstitutionById, MunicipalityById, OrganisationById, RegionById},
        organisations::{
            partnerships::Partnership,
            types::{Organisation, OrganisationPage},
        },
    },
};

#[derive(Default)]
pub struct OrganisationsQuery;

/// Which organisations to list. All conditions must hold; a list matches any of its values. An
/// organisation is named by its id, its key or its official number (`rso-vest`, `0301`,
/// `030115`), a partnership by its id or key (`omradesatsingene`); an unknown key is
/// BAD_USER_INPUT.
#[derive(InputObject, Default)]
pub struct OrganisationFilter {
    kind: Option<Vec<OrganisationKind>>,
    /// Only the members of this partnership (not the organisations under them).
    partnership: Option<ID>,
    /// Only the organisations directly under this one.
    parent: Option<ID>,
    /// Only the organisations under this one, at any depth (not itself).
    under: Option<ID>,
    /// Part of the name (any case), or the start of the official number.
    search: Option<String>,
}

/// The organisation `id` names: an `Organisation` id, or the id of a typed row (a `Municipality`,
/// `County`, `Cluster`, `Region` or `Institution` id gives that row's organisation); `None` if
/// there is none. An id of another type is BAD_USER_INPUT.
pub async fn organisation_id(ctx: &Context<'_>, id: &ID) -> Result<Option<i32>, AppError> {
    let global = GlobalId::decode(id)?;
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
        _ => Some(global.key_as(id, NodeType::Organisation)?),
    })
}

#[Object]
impl OrganisationsQuery {
    /// One organisation by its id, or by the id of its typed row (a `Municipality`, `County`,
    /// `Cluster`, `Region` or `Institution` id gives that row's organisation); null if there is
    /// none. An id of another type is BAD_USER_INPUT.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn organisation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Organisation>> {
        let Some(key) = organisation_id(ctx, &id).await? else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(OrganisationById(key)).await?.map(Organisation))
    }

    /// The organisations, in id order: the whole tree, or the part `filter` names.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganisationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OrganisationPage> {
        let args = PageArgs::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let filter = DbFilter {
            kinds: Kinds::of(filter.kind.as_deref().unwrap_or_default()),
            partnership_id: keys::optional(ctx, filter.partnership.as_ref(), NodeType::Partnership).await?,
            parent_id: keys::optional(ctx, filter.parent.as_ref(), NodeType::Organisation).await?,
            under_id: keys::optional(ctx, filter.under.as_ref(), NodeType::Organisation).await?,
            search: filter.search,
        };
        let rows = read::list(ctx.db()?.conn(), &filter).await?;
        let rows = rows.into_iter().map(Organisation).collect();
        Ok(paginate_with(rows, args, Organisation::cursor_key, ChildCount::Known))
    }

    /// One city district (bydel) by its official six-digit number, e.g. `"030115"` for Søndre
    /// Nordstrand; null if there is no district with that number.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn district(&self, ctx: &Context<'_>, code: String) -> Result<Option<Organisation>> {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(format!(
                "`{code}` is not a district number: use the six digits, leading zeros included"
            ))
            .into());
        }
        let found = read::by_code(ctx.db()?.conn(), OrganisationKind::District, &code).await?;
        Ok(found.map(Organisation))
    }

    /// The partnerships (prioritising bodies), in id order.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Partnership>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = read::partnerships(ctx.db()?.conn()).await?;
        let rows = rows.into_iter().map(Partnership).collect();
        Ok(paginate(rows, args, Partnership::cursor_key))
    }

    /// One partnership by its key, e.g. `"omradesatsingene"`; null if there is none.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn partnership(&self, ctx: &Context<'_>, key: String) -> Result<Option<Partnership>> {
        Ok(read::partnership_by_key(ctx.db()?.conn(), &key).await?.map(Partnership))
    }
}
