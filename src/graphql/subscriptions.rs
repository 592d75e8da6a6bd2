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
use entity::enums::{CommissionStatus, NeedStatus};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::{
    auth::{Action, policy::NeedScope},
    error::{AppError, Result},
    graphql::{
        commissions::types::{Commission, visible_commission},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        needs::types::NeedEvent,
    },
};

#[derive(Default)]
pub struct Subscriptions;

/// Which need changes to receive. All conditions must hold.
#[derive(InputObject, Default)]
pub struct NeedEventFilter {
    pub region: Option<ID>,
    pub cluster: Option<ID>,
    pub municipality: Option<ID>,
    /// The need's status after the change.
    pub status: Option<Vec<NeedStatus>>,
    pub theme: Option<Vec<ID>>,
}

/// Which opened commissions to receive.
#[derive(InputObject, Default)]
pub struct CommissionOpenedFilter {
    /// Answering a need with any of these themes.
    pub themes: Option<Vec<ID>>,
    pub product_types: Option<Vec<ID>>,
    pub region: Option<ID>,
}

/// The changes of one broadcast channel, as a stream. A subscriber that falls so far behind that
/// the channel drops changes for it is ended, rather than slowing everyone.
fn changes<T: Clone + Send + 'static>(receiver: Receiver<T>) -> impl Stream<Item = T> + Send {
    stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(item) => Some((item, receiver)),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a subscriber fell behind and was dropped");
                None
            }
            Err(RecvError::Closed) => None,
        }
    })
}

fn ids(ids: Option<&[ID]>, node_type: NodeType) -> Result<Vec<i32>, AppError> {
    ids.unwrap_or_default().iter().map(|id| GlobalId::decode_as(id, node_type)).collect()
}

fn id(id: Option<&ID>, node_type: NodeType) -> Result<Option<i32>, AppError> {
    id.map(|id| GlobalId::decode_as(id, node_type)).transpose()
}

#[Subscription]
impl Subscriptions {
    /// Every change to the needs the caller can see: moves, edits, co-signatures, merges, evidence
    /// (the same objects as `need.history`). After a reconnect, read `need.history` for what was
    /// missed.
    async fn need_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedEventFilter>,
    ) -> Result<impl Stream<Item = NeedEvent> + use<>> {
        let viewer = ctx.viewer()?.clone();
        let f = filter.unwrap_or_default();
        let region = id(f.region.as_ref(), NodeType::Region)?;
        let cluster = id(f.cluster.as_ref(), NodeType::Cluster)?;
        let municipality = id(f.municipality.as_ref(), NodeType::Municipality)?;
        let themes = ids(f.theme.as_deref(), NodeType::Theme)?;
        let statuses = f.status.unwrap_or_default();
        let receiver = ctx.db()?.bus().needs.subscribe();
        Ok(changes(receiver).filter_map(move |change| {
            let scope = NeedScope {
                status: change.need.status,
                municipality_id: change.need.municipality_id,
                cluster_id: change.cluster_id,
                region_id: change.region_id,
            };
            let wanted = viewer.can(Action::SeeNeed(&scope))
                && region.is_none_or(|r| change.region_id == Some(r))
                && cluster.is_none_or(|c| change.cluster_id == Some(c))
                && municipality.is_none_or(|m| change.need.municipality_id == m)
                && (statuses.is_empty() || statuses.contains(&change.need.status))
                && (themes.is_empty() || themes.iter().any(|t| change.theme_ids.contains(t)));
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
            return Err(AppError::Forbidden.into());
        }
        let f = filter.unwrap_or_default();
        let themes = ids(f.themes.as_deref(), NodeType::Theme)?;
        let product_types = ids(f.product_types.as_deref(), NodeType::ProductType)?;
        let region = id(f.region.as_ref(), NodeType::Region)?;
        let receiver = ctx.db()?.bus().commissions.subscribe();
        Ok(changes(receiver).filter_map(move |change| {
            let c = &change.commission;
            let opened = change.event.to_status == Some(CommissionStatus::Open);
            let wanted = opened
                && viewer.can(Action::SeeCommission { status: c.status, region_id: c.region_id })
                && region.is_none_or(|r| c.region_id == r)
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
        let receiver = ctx.db()?.bus().commissions.subscribe();
        Ok(changes(receiver).filter_map(move |change| {
            let c = &change.commission;
            let wanted =
                c.id == key && viewer.can(Action::SeeCommission { status: c.status, region_id: c.region_id });
            let commission = wanted.then(|| Commission(change.commission.clone()));
            async move { commission }
        }))
    }
}
