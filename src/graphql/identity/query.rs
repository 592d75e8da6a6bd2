//! Root query fields: `viewer` (anyone) and `people` (coordinators, scoped to their regions).

use async_graphql::{Context, InputObject, Object};

use crate::{
    db::identity,
    error::{AppError, Result},
    graphql::{
        connection::{Page, PageArgs, cost, paginate},
        context::ContextExt,
        identity::types::{ApiToken, Membership, Person},
        loaders::{MembershipsOfPerson, PersonById, TokensOfPerson},
    },
};

#[derive(Default)]
pub struct IdentityQuery;

/// Who is calling: the person behind the token, their memberships and tokens.
pub struct ViewerInfo;

#[Object(name = "Viewer")]
impl ViewerInfo {
    /// Whether the request carried a valid token.
    async fn authenticated(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(ctx.viewer()?.person_id().is_some())
    }

    /// The caller; null for the public.
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(id) = ctx.viewer()?.person_id() else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(PersonById(id)).await?.map(Person))
    }

    /// The caller's memberships: what they may do, and where.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<Membership>> {
        let Some(id) = ctx.viewer()?.person_id() else {
            return Ok(Vec::new());
        };
        let rows = ctx.loader()?.load_one(MembershipsOfPerson(id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Membership).collect())
    }

    /// The caller's own API tokens, including revoked and expired ones.
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let Some(id) = ctx.viewer()?.person_id() else {
            return Ok(Vec::new());
        };
        let rows = ctx.loader()?.load_one(TokensOfPerson(id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(ApiToken).collect())
    }
}

/// Which people to list.
#[derive(InputObject, Default)]
pub struct PeopleFilter {
    /// Part of the name or e-mail address, any case.
    search: Option<String>,
}

#[Object]
impl IdentityQuery {
    /// Who is calling. Works without a token (then `authenticated` is false).
    async fn viewer(&self) -> ViewerInfo {
        ViewerInfo
    }

    /// The people of the regions the caller coordinates (their home region or a membership there).
    /// Coordinators only.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn people(
        &self,
        ctx: &Context<'_>,
        filter: Option<PeopleFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Person>> {
        let viewer = ctx.viewer()?;
        viewer.require_person()?;
        let regions = viewer.coordinated_regions();
        if regions.is_empty() {
            return Err(AppError::Forbidden.into());
        }
        let args = PageArgs::parse(first, after, last, before)?;
        let search = filter.unwrap_or_default().search;
        let rows = identity::people_in_regions(ctx.db()?.conn(), &regions, search.as_deref()).await?;
        Ok(paginate(rows.into_iter().map(Person).collect(), args, |p| i64::from(p.0.id)))
    }
}
