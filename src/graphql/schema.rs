//! Builds the schema (apart from the web layer) and exports its SDL.

use std::time::Duration;

use async_graphql::{
    EmptyMutation, EmptySubscription, MergedObject, Request, Schema, SchemaBuilder, dataloader::DataLoader,
};

use crate::{
    db::Db,
    graphql::{limits::QueryLimits, loaders::Loaders, node::NodeQuery, reference::query::ReferenceQuery},
};

/// The root query: one line per area.
#[derive(MergedObject, Default)]
pub struct Query(NodeQuery, ReferenceQuery);

pub type HubSchema = Schema<Query, EmptyMutation, EmptySubscription>;

fn builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription).extension(QueryLimits)
}

/// The schema with its database; per-request data is added by [`prepare`].
pub fn build_schema(db: Db) -> HubSchema {
    builder().data(db).finish()
}

/// Makes what each request (or WebSocket connection) gets of its own: a fresh DataLoader.
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
    pub fn prepare(&self, request: Request) -> Request {
        request.data(self.loader())
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
