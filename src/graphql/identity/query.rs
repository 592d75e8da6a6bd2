//! Root query fields: `viewer` (anyone) and `people` (coordinators, scoped to their regions).

use async_graphql::{
    Context, ID, InputObject, Object,
    connection::{Connection, Edge, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::enums::Language;

use crate::{
    auth::policy::allowed,
    db::{audit, identity},
    error::{AppError, Result},
    graphql::{
        connection::{ChildPage, Page, PageArgs, cost, encode_cursor, paginate},
        context::ContextExt,
        identity::preferences::{NotificationPreference, of_viewer},
        identity::types::{
            ApiToken, AuditEvent, Membership, Person, carried_memberships, manageable_tokens, tokens_of,
        },
        ids::{GlobalId, NodeType},
        loaders::PersonById,
    },
};

#[derive(Default)]
pub struct IdentityQuery;

/// Which audit events to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// An exact action, e.g. `mutation.submitNeed`, `membership.add`, `authenticate`.
    pub action: Option<String>,
    /// `OK`, `USER_ERROR`, or an error code such as `FORBIDDEN`.
    pub outcome: Option<String>,
    /// The person who acted.
    pub actor: Option<ID>,
    /// The `x-request-id` of one request.
    pub request_id: Option<String>,
    #[graphql(validator(custom = "crate::graphql::time::Storable"))]
    pub since: Option<DateTime<Utc>>,
}

pub type AuditPage = Connection<String, AuditEvent, EmptyFields, EmptyFields>;

/// Who is calling: the person behind the token, their memberships and tokens.
pub struct ViewerInfo;

#[Object(name = "Viewer")]
impl ViewerInfo {
    /// Whether the request carried a valid token.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn authenticated(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(ctx.viewer()?.person_id().is_some())
    }

    /// The caller; null for the public.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(id) = ctx.viewer()?.person_id() else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(PersonById(id)).await?.map(Person))
    }

    /// The caller's memberships that the token carries: what they may do, and where.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<Membership>> {
        let args = PageArgs::parse(first, after, last, before)?;
        carried_memberships(ctx, args).await
    }

    /// The caller's own API tokens, including revoked and expired ones, oldest first; with a
    /// token bound to some regions, only the tokens bound within them.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<ApiToken>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let person = match ctx.viewer()?.person_id() {
            Some(id) => ctx.loader()?.load_one(PersonById(id)).await?,
            None => None,
        };
        match person {
            Some(person) => manageable_tokens(ctx, &person, args).await,
            // The public has none: person 0 is no one.
            None => tokens_of(ctx, 0, args).await,
        }
    }

    /// How the caller hears of each kind of notification by e-mail: what they chose, else their
    /// roles' default (`isDefault`). Empty for the public.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(entity::enums::NotificationKind::ALL.len(), child_complexity)"
    )]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn notification_preferences(&self, ctx: &Context<'_>) -> Result<Vec<NotificationPreference>> {
        of_viewer(ctx).await
    }

    /// The language of the caller's mails; null for the public.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn language(&self, ctx: &Context<'_>) -> Result<Option<Language>> {
        let Some(id) = ctx.viewer()?.person_id() else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(PersonById(id)).await?.map(|person| person.language))
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
    #[tracing::instrument(level = "debug", skip_all)]
    async fn viewer(&self) -> ViewerInfo {
        ViewerInfo
    }

    /// The audit log of the regions the caller coordinates, newest first: every mutation and
    /// every refused request, with its outcome and request id. Refusals that concern no region
    /// (an unknown token, the public's refused requests) are in the operators' log, read with
    /// `knowledge-hub audit` at the server. Coordinators only.
    #[graphql(complexity = "cost(first, None, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<AuditPage> {
        let viewer = ctx.viewer()?;
        viewer.require_person()?;
        let regions = viewer.coordinated_regions();
        if regions.is_empty() {
            return Err(AppError::Forbidden(allowed::MANAGE_PEOPLE).into());
        }
        let args = PageArgs::parse(first, after, None, None)?;
        let f = filter.unwrap_or_default();
        let filter = audit::Filter {
            action: f.action,
            outcome: f.outcome,
            person_id: GlobalId::decode_optional(f.actor.as_ref(), NodeType::Person)?,
            request_id: f.request_id,
            since: f.since,
        };
        let before = args.after.map(|a| i32::try_from(a).unwrap_or(i32::MAX));
        let (rows, more) =
            audit::page(ctx.db()?.conn(), audit::Log::Regions(&regions), &filter, before, args.size as u64)
                .await?;
        let mut page = Connection::new(before.is_some(), more);
        page.edges
            .extend(rows.into_iter().map(|row| Edge::new(encode_cursor(i64::from(row.id)), AuditEvent(row))));
        Ok(page)
    }

    /// The people of the regions the caller coordinates (their home region or a membership there).
    /// Coordinators only.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
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
            return Err(AppError::Forbidden(allowed::MANAGE_PEOPLE).into());
        }
        let args = PageArgs::parse(first, after, last, before)?;
        let search = filter.unwrap_or_default().search;
        let rows = identity::people_in_regions(ctx.db()?.conn(), &regions, search.as_deref()).await?;
        Ok(paginate(rows.into_iter().map(Person).collect(), args, |p| i64::from(p.0.id)))
    }
}
