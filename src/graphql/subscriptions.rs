//! Subscriptions (graphql-transport-ws at `/graphql/ws`): `needEvents` for dashboards,
//! `commissionOpened` for institutions, `commissionUpdated` for the parties of one commission.
//!
//! Each subscriber reads the process's broadcast of committed changes (see `events`) and filters
//! and authorises every change in memory, with the viewer of its connection: nobody receives what
//! they could not query.

use std::sync::Arc;

use async_graphql::{
    Context, ID, InputObject, Subscription,
    futures_util::{Stream, StreamExt, stream},
};
use entity::enums::CommissionStatus;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::{
    auth::Action,
    auth::policy::allowed,
    error::{AppError, Result},
    graphql::{
        commissions::types::{Commission, visible_commission},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        keys,
        needs::{
            query::{NeedEventFilter, event_filter},
            types::NeedEvent,
        },
    },
};

#[derive(Default)]
pub struct Subscription;

/// Which opened commissions to receive. A region, cluster, municipality, institution, theme or
/// product type is named by its id or its key (`rso-vest`, `sor-rogaland`, `uib`, `public-health`,
/// a municipality's number `4601`).
#[derive(InputObject, Default)]
pub struct CommissionOpenedFilter {
    /// Answering a need with any of these themes.
    pub themes: Option<Vec<ID>>,
    pub product_types: Option<Vec<ID>>,
    pub region: Option<ID>,
}

/// What the WebSocket session does when one of its subscriptions falls behind: it closes the
/// connection with a clear code (1013), so the client reconnects and catches up.
#[derive(Clone)]
pub struct OnLag(pub Arc<dyn Fn() + Send + Sync>);

/// The changes of one broadcast channel, as a stream. A subscriber that falls so far behind that
/// the channel drops changes for it is ended, rather than slowing everyone, and its connection
/// is told why.
fn changes<T: Clone + Send + 'static>(
    ctx: &Context<'_>,
    receiver: Receiver<T>,
) -> impl Stream<Item = T> + Send + use<T> {
    let on_lag = ctx.data_opt::<OnLag>().cloned();
    stream::unfold(receiver, move |mut receiver| {
        let on_lag = on_lag.clone();
        async move {
            match receiver.recv().await {
                Ok(item) => Some((item, receiver)),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind and was dropped");
                    if let Some(OnLag(close)) = on_lag {
                        close();
                    }
                    None
                }
                Err(RecvError::Closed) => None,
            }
        }
    })
}

#[Subscription]
impl Subscription {
    /// Every change to the needs the caller can see: moves, edits, co-signatures, merges, evidence
    /// (the same objects as `need.history`). After a reconnect, the `needEvents` query with the
    /// `cursor` of the last event received returns what was missed.
    async fn need_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedEventFilter>,
    ) -> Result<impl Stream<Item = NeedEvent> + use<>> {
        let viewer = ctx.viewer()?.clone();
        let f = event_filter(ctx, filter).await?;
        let receiver = ctx.events()?.needs.subscribe();
        Ok(changes(ctx, receiver).filter_map(move |change| {
            let need = &change.need;
            let sees = need.organisation_id.is_some_and(|organisation_id| {
                viewer.can(Action::SeeNeed { status: need.status, organisation_id })
            });
            let wanted = sees
                && f.partnership_ids.iter().all(|p| need.partnership_id == Some(*p))
                && f.organisation_ids.iter().all(|o| change.ancestors.contains(o))
                && f.municipality_id.is_none_or(|m| need.municipality_id == m)
                && (f.statuses.is_empty() || f.statuses.contains(&change.need.status))
                && (f.theme_ids.is_empty() || f.theme_ids.iter().any(|t| change.theme_ids.contains(t)));
            let event = wanted.then(|| NeedEvent(Arc::unwrap_or_clone(change).event));
            async move { event }
        }))
    }

    /// Every commission that opens and matches, for institution members and coordinators.
    async fn commission_opened(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommissionOpenedFilter>,
    ) -> Result<impl Stream<Item = Commission> + use<>> {
        let viewer = ctx.viewer()?.clone();
        viewer.require_person()?;
        if viewer.member_institutions().is_empty() && viewer.coordinated_regions().is_empty() {
            return Err(AppError::Forbidden(allowed::FOLLOW_COMMISSIONS).into());
        }
        let f = filter.unwrap_or_default();
        let themes = keys::all(ctx, f.themes.as_deref(), NodeType::Theme).await?;
        let product_types = keys::all(ctx, f.product_types.as_deref(), NodeType::ProductType).await?;
        let region = keys::optional(ctx, f.region.as_ref(), NodeType::Region).await?;
        let receiver = ctx.events()?.commissions.subscribe();
        Ok(changes(ctx, receiver).filter_map(move |change| {
            let c = &change.commission;
            let opened = change.event.to_status == Some(CommissionStatus::Open);
            let wanted = opened
                && viewer.can(Action::SeeCommission { status: c.status, partnership_id: c.partnership_id })
                && region.is_none_or(|r| c.partnership_id == r)
                && (product_types.is_empty() || product_types.contains(&c.product_type_id))
                && (themes.is_empty() || themes.iter().any(|t| change.theme_ids.contains(t)));
            let commission = wanted.then(|| Commission(change.commission.clone()));
            async move { commission }
        }))
    }

    /// Every change to one commission the caller can see (moves, interest, progress, milestones).
    async fn commission_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = Commission> + use<>> {
        let viewer = ctx.viewer()?.clone();
        let key = GlobalId::decode_as(&id, NodeType::Commission)?;
        if visible_commission(ctx, key).await?.is_none() {
            return Err(AppError::NotFound.into());
        }
        let receiver = ctx.events()?.commissions.subscribe();
        Ok(changes(ctx, receiver).filter_map(move |change| {
            let c = &change.commission;
            let wanted = c.id == key
                && viewer.can(Action::SeeCommission { status: c.status, partnership_id: c.partnership_id });
            let commission = wanted.then(|| Commission(change.commission.clone()));
            async move { commission }
        }))
    }
}
