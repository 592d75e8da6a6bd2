//! Builds the schema (apart from the web layer) and exports its SDL.

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Request, Schema, SchemaBuilder};

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

/// Adds what each request needs of its own: a fresh DataLoader.
pub fn prepare(request: Request, db: &Db) -> Request {
    request.data(Loaders::new_loader(db.clone()))
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
