//! Root query fields for needs: `needs` (filter, full-text search, order, keyset pages; also an
//! organisation's and a partnership's `needs`), `needStats` (its counts are in `stats.rs`) and
//! `needEvents`.

use async_graphql::{
    Context, Enum, ID, InputObject, Object,
    connection::{Connection, CursorType, Edge, EmptyFields},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::enums::{NeedStatus, Urgency};

use crate::{
    db::needs::{self, Cursor, CursorKey, NeedFilter as DbFilter, Visibility, Window},
    domain::needs::search_words,
    error::{AppError, Result},
    graphql::{
        connection::{MAX_PAGE_SIZE, PageArgs, cost, keyset_page_info},
        context::ContextExt,
        ids::NodeType,
        keys,
        loaders::ClusterById,
        needs::{
            stats::NeedStats,
            types::{Need, NeedEvent, encode_event_cursor},
        },
    },
};

#[derive(Default)]
pub struct NeedsQuery;

/// Which needs to list or count. All conditions must hold; a list matches any of its values. A
/// region, cluster, municipality, institution, theme or product type is named by its id or its key
/// (`rso-vest`, `sor-rogaland`, `uib`, `public-health`, a municipality's number `4601`); an
/// organisation by its id, key or official number (`kunnskapskommunen`, `4601`, `030115`); a
/// partnership by its id or key (`omradesatsingene`).
#[derive(InputObject, Default, Clone)]
pub struct NeedFilter {
    pub status: Option<Vec<NeedStatus>>,
    pub theme: Option<Vec<ID>>,
    pub region: Option<ID>,
    pub cluster: Option<ID>,
    pub municipality: Option<ID>,
    pub product_type: Option<ID>,
    /// Needs raised in this organisation or below it (by id, typed id, key or official number).
    pub organisation: Option<ID>,
    /// Needs in this partnership's pool (by id or key).
    pub partnership: Option<ID>,
    pub urgency: Option<Urgency>,
    #[graphql(validator(custom = "crate::graphql::time::Storable"))]
    pub submitted_after: Option<DateTime<Utc>>,
    #[graphql(validator(custom = "crate::graphql::time::Storable"))]
    pub submitted_before: Option<DateTime<Utc>>,
}

/// How to order needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Default)]
pub enum NeedOrder {
    /// Newest first (by creation).
    #[default]
    Newest,
    Oldest,
    /// Most recently changed first.
    Updated,
    /// Most co-signing municipalities first.
    Reach,
    /// Best match for `search` first (the same as NEWEST without a search).
    Relevance,
}

impl From<NeedOrder> for needs::NeedOrder {
    fn from(order: NeedOrder) -> Self {
        match order {
            NeedOrder::Newest => Self::Newest,
            NeedOrder::Oldest => Self::Oldest,
            NeedOrder::Updated => Self::Updated,
            NeedOrder::Reach => Self::Reach,
            NeedOrder::Relevance => Self::Relevance,
        }
    }
}

/// The filter and search in database terms; an unknown key is `BAD_USER_INPUT`.
pub async fn db_filter(
    ctx: &Context<'_>,
    filter: Option<NeedFilter>,
    search: Option<&str>,
) -> Result<DbFilter, AppError> {
    let f = filter.unwrap_or_default();
    let common = NeedEventFilter {
        region: f.region,
        partnership: f.partnership,
        cluster: f.cluster,
        municipality: f.municipality,
        organisation: f.organisation,
        status: f.status,
        theme: f.theme,
    };
    Ok(DbFilter {
        product_type_id: keys::optional(ctx, f.product_type.as_ref(), NodeType::ProductType).await?,
        urgency: f.urgency,
        submitted_after: f.submitted_after,
        submitted_before: f.submitted_before,
        search: search.map(search_words).unwrap_or_default(),
        ..event_filter(ctx, Some(common)).await?
    })
}

/// Which need changes to receive (`needEvents`, the subscription and the query). All conditions
/// must hold; a list matches any of its values. A region, cluster, municipality, institution, theme
/// or product type is named by its id or its key (`rso-vest`, `sor-rogaland`, `uib`, `public-
/// health`, a municipality's number `4601`); an organisation by its id, key or official number;
/// a partnership by its id or key.
#[derive(InputObject, Default)]
pub struct NeedEventFilter {
    /// Needs in the pool of this region's partnership (RSO).
    pub region: Option<ID>,
    /// Needs in this partnership's pool.
    pub partnership: Option<ID>,
    /// Needs raised in this cluster's municipalities.
    pub cluster: Option<ID>,
    /// Needs raised in this municipality, by it or a unit within it.
    pub municipality: Option<ID>,
    /// Needs raised in this organisation or below it: an Oslo district's dashboard names the
    /// district and gets its needs only.
    pub organisation: Option<ID>,
    /// The need's status: after the change for the subscription, now for the query.
    pub status: Option<Vec<NeedStatus>>,
    pub theme: Option<Vec<ID>>,
}

/// A need event filter in database terms (the subscription matches the same fields in memory).
pub async fn event_filter(ctx: &Context<'_>, filter: Option<NeedEventFilter>) -> Result<DbFilter, AppError> {
    let f = filter.unwrap_or_default();
    let region = keys::optional(ctx, f.region.as_ref(), NodeType::Region).await?;
    let partnership = keys::optional(ctx, f.partnership.as_ref(), NodeType::Partnership).await?;
    // A cluster is the organisation it is; one that does not exist matches nothing.
    let cluster = match keys::optional(ctx, f.cluster.as_ref(), NodeType::Cluster).await? {
        Some(id) => {
            Some(ctx.loader()?.load_one(ClusterById(id)).await?.and_then(|c| c.organisation_id).unwrap_or(0))
        }
        None => None,
    };
    let organisation = match f.organisation.as_ref() {
        Some(value) => Some(keys::organisation(ctx, value).await?.unwrap_or(0)),
        None => None,
    };
    Ok(DbFilter {
        statuses: f.status.unwrap_or_default(),
        theme_ids: keys::all(ctx, f.theme.as_deref(), NodeType::Theme).await?,
        partnership_ids: region.into_iter().chain(partnership).collect(),
        organisation_ids: cluster.into_iter().chain(organisation).collect(),
        municipality_id: keys::optional(ctx, f.municipality.as_ref(), NodeType::Municipality).await?,
        ..DbFilter::default()
    })
}

pub type NeedEventPage = Connection<String, NeedEvent, EmptyFields, EmptyFields>;

fn visibility(ctx: &Context<'_>) -> Result<Visibility, AppError> {
    Ok(Visibility { draft_units: ctx.viewer()?.member_units() })
}

fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

/// A page's cursor, kept as its key and written out only when a client asks for it (`cursor`,
/// `pageInfo { startCursor endCursor }`): a dashboard asks for nodes, and writing 50 cursors it
/// never sees was 1.3% of its instructions.
pub struct NeedCursor(Cursor);

impl CursorType for NeedCursor {
    type Error = AppError;

    /// The cursor as written; a page checks it against its order (`decode_cursor`).
    fn decode_cursor(text: &str) -> Result<Self, AppError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Self)
            .ok_or_else(|| AppError::bad_input(format!("`{text}` is not a valid cursor")))
    }

    fn encode_cursor(&self) -> String {
        encode_cursor(&self.0)
    }
}

/// A cursor of a page of needs read in `order` (the effective order, see
/// [`needs::NeedOrder::effective`]); a cursor of another order, or one whose time lies outside
/// the years the hub stores, is refused.
fn decode_cursor(text: &str, order: needs::NeedOrder) -> Result<Cursor, AppError> {
    let NeedCursor(cursor) = NeedCursor::decode_cursor(text)?;
    if !cursor.fits(order) {
        return Err(AppError::bad_input(format!("`{text}` is a cursor of another order than this page's")));
    }
    if let CursorKey::Time(at) = &cursor.key {
        crate::domain::time::check_storable(at)
            .map_err(|why| AppError::bad_input(format!("`{text}` is not a valid cursor: {why}")))?;
    }
    Ok(cursor)
}

/// The page arguments of a needs connection, as the client sent them (the cursors are read in
/// the page's order).
pub struct NeedPageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// One page of the needs `filter` and `search` match, narrowed by `narrow` (an organisation's or
/// partnership's needs are its subtree's), that the caller may see, in `order_by`: one statement
/// (its count another, when asked for). The root `needs` field's, and an organisation's or
/// partnership's `needs`.
pub async fn page(
    ctx: &Context<'_>,
    filter: Option<NeedFilter>,
    search: Option<&str>,
    order_by: NeedOrder,
    args: NeedPageArgs,
    narrow: impl FnOnce(&mut DbFilter),
) -> Result<NeedPage, AppError> {
    let NeedPageArgs { first, after, last, before } = args;
    let args = PageArgs::parse(first, None, last, None)?;
    let mut filter = db_filter(ctx, filter, search).await?;
    narrow(&mut filter);
    let visibility = visibility(ctx)?;
    let order = needs::NeedOrder::from(order_by).effective(&filter);
    let window = Window {
        size: args.size.min(MAX_PAGE_SIZE as usize),
        from_end: args.from_end,
        after: after.as_deref().map(|c| decode_cursor(c, order)).transpose()?,
        before: before.as_deref().map(|c| decode_cursor(c, order)).transpose()?,
    };
    let (rows, more) = needs::list(ctx.db()?.conn(), &filter, &visibility, order, &window).await?;
    let (has_previous, has_next) =
        keyset_page_info(window.from_end, window.after.is_some(), window.before.is_some(), more);
    let mut page =
        Connection::with_additional_fields(has_previous, has_next, NeedCount { filter, visibility });
    page.edges.extend(
        rows.into_iter()
            .map(|row| Edge::new(NeedCursor(row.cursor), Need::with_themes(row.need, row.theme_ids))),
    );
    Ok(page)
}

/// `totalCount` of a needs connection, counted in SQL only when asked for.
pub struct NeedCount {
    filter: DbFilter,
    visibility: Visibility,
}

#[Object]
impl NeedCount {
    /// How many needs match, across all pages.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(needs::count(ctx.db()?.conn(), &self.filter, &self.visibility).await?)
    }
}

pub type NeedPage = Connection<NeedCursor, Need, NeedCount, EmptyFields>;

#[Object]
impl NeedsQuery {
    /// Knowledge needs: from SUBMITTED on for everyone, drafts only for their municipality.
    /// `search` looks in title, question and background for needs that have every word, in any
    /// of its Norwegian forms or as the start of a longer word; a title's words rank first.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedFilter>,
        search: Option<String>,
        #[graphql(default)] order_by: NeedOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<NeedPage> {
        let args = NeedPageArgs { first, after, last, before };
        Ok(page(ctx, filter, search.as_deref(), order_by, args, |_| {}).await?)
    }

    /// Counts of the needs the caller can see, for dashboards; every figure is a GROUP BY in SQL.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn need_stats(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedFilter>,
        search: Option<String>,
    ) -> Result<NeedStats> {
        Ok(NeedStats {
            filter: db_filter(ctx, filter, search.as_deref()).await?,
            visibility: visibility(ctx)?,
        })
    }

    /// The log of need changes the caller can see, oldest first: the same events as the
    /// `needEvents` subscription and `need.history`. After a reconnect, pass the `cursor` of the
    /// last event received as `after` (or a time as `since`) and read until `hasNextPage` is false.
    #[graphql(complexity = "cost(first, None, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn need_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedEventFilter>,
        #[graphql(validator(custom = "crate::graphql::time::Storable"))] since: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<NeedEventPage> {
        let args = PageArgs::parse(first, after, None, None)?;
        let filter = event_filter(ctx, filter).await?;
        let after = args.after.map(|a| i32::try_from(a).unwrap_or(i32::MAX));
        let (rows, more) =
            needs::events(ctx.db()?.conn(), &filter, &visibility(ctx)?, after, since, args.size).await?;
        let mut page = Connection::new(after.is_some(), more);
        page.edges.extend(rows.into_iter().map(|row| Edge::new(encode_event_cursor(row.id), NeedEvent(row))));
        Ok(page)
    }
}
