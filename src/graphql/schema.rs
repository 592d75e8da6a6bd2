//! Builds the schema (apart from the web layer) and exports its SDL.

use std::time::Duration;

use async_graphql::{MergedObject, Request, Schema, SchemaBuilder, dataloader::DataLoader};

use crate::{
    auth::{Authenticator, Viewer},
    db::Db,
    graphql::{
        commissions::{mutation::CommissionsMutation, query::CommissionsQuery},
        identity::{mutation::IdentityMutation, query::IdentityQuery},
        limits::QueryLimits,
        loaders::Loaders,
        needs::{mutation::NeedsMutation, query::NeedsQuery},
        node::NodeQuery,
        reference::query::ReferenceQuery,
        rounds::{mutation::RoundsMutation, query::RoundsQuery},
        subscriptions::Subscriptions,
    },
};

/// The root query: one line per area.
#[derive(MergedObject, Default)]
pub struct Query(NodeQuery, ReferenceQuery, IdentityQuery, NeedsQuery, RoundsQuery, CommissionsQuery);

/// The root mutation: one line per area.
#[derive(MergedObject, Default)]
pub struct Mutation(IdentityMutation, NeedsMutation, RoundsMutation, CommissionsMutation);

pub type HubSchema = Schema<Query, Mutation, Subscriptions>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscriptions> {
    Schema::build(Query::default(), Mutation::default(), Subscriptions)
        .extension(QueryLimits)
        .extension(crate::graphql::audit::AuditLog)
}

/// The schema with its database and token cache; per-request data is added by [`PerRequest`].
pub fn build_schema(db: Db, authenticator: Authenticator) -> HubSchema {
    builder().data(db).data(authenticator).finish()
}

/// Makes what each request (or WebSocket connection) gets of its own: a fresh DataLoader
/// (and the viewer, which the web layer resolves from the token).
#[derive(Clone)]
pub struct PerRequest {
    db: Db,
    batch_window: Duration,
}

impl PerRequest {
    pub fn new(db: Db, batch_window: Duration) -> Self {
        Self { db, batch_window }
    }

    pub fn loader(&self) -> DataLoader<Loaders> {
        Loaders::new_loader(self.db.clone(), self.batch_window)
    }

    /// Adds the per-request data to a request.
    pub fn prepare(&self, request: Request, viewer: Viewer) -> Request {
        request.data(self.loader()).data(viewer)
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
