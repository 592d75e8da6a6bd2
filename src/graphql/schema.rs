//! Builds the schema (apart from the web layer) and exports its SDL.

use async_graphql::{MergedObject, Request, Schema, SchemaBuilder, ValidationMode};
use std::sync::Arc;

use crate::{
    auth::{Authenticator, Viewer},
    db::{Db, refusals::RefusalLog},
    events::EventBus,
    graphql::{
        batch::{Batcher, ReferenceTables},
        commissions::{mutation::CommissionsMutation, query::CommissionsQuery},
        export::{ExportLinks, ExportQuery},
        identity::{mutation::IdentityMutation, query::IdentityQuery},
        limits::RequestHooks,
        loaders::Loaders,
        needs::{mutation::NeedsMutation, query::NeedsQuery},
        node::NodeQuery,
        organisations::{
            mutation::OrganisationsMutation, profile::InstitutionProfileMutation, query::OrganisationsQuery,
        },
        persisted::Persisted,
        reference::query::ReferenceQuery,
        rounds::{mutation::RoundsMutation, query::RoundsQuery},
        subscriptions::Subscription,
        webhooks::mutation::WebhooksMutation,
    },
    notify::webhook::Guard,
};

/// The root query: one line per area (new areas at the front, the deepest place, as for the
/// mutation below).
#[derive(MergedObject, Default)]
pub struct Query(
    ExportQuery,
    NodeQuery,
    ReferenceQuery,
    OrganisationsQuery,
    IdentityQuery,
    NeedsQuery,
    RoundsQuery,
    CommissionsQuery,
);

/// The root mutation: one line per area.
#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    NeedsMutation,
    RoundsMutation,
    CommissionsMutation,
    OrganisationsAndNotifyMutation,
);

/// The last areas of the root mutation, merged one level down. A merged object nests its members
/// (the first deepest), and each level is a frame on the stack of every mutation of the members
/// before it: a sixth member at the root overflowed a debug build's 2 MiB test thread in
/// `submitNeed`. New areas join here, at the front (the deepest place), where only their own
/// mutations pay for the level.
#[derive(MergedObject, Default)]
pub struct OrganisationsAndNotifyMutation(
    InstitutionProfileMutation,
    OrganisationsMutation,
    WebhooksMutation,
);

pub type HubSchema = Schema<Query, Mutation, Subscription>;

pub(crate) fn builder(
    persisted: Arc<Persisted>,
    known_only: bool,
) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .extension(RequestHooks::new(persisted, known_only))
}

/// The two schemas of an instance, one API: `any` runs any document through every check;
/// `known` runs the known documents (`graphql::persisted`), validated at start-up, with
/// async-graphql's `ValidationMode::Fast`, which skips the validation rules and only adds up the
/// cost (for the variables sent). async-graphql sets the validation mode per schema, not per
/// request, hence two; they share their data, and `RequestHooks` lets nothing else run on `known`.
#[derive(Clone)]
pub struct Schemas {
    pub any: HubSchema,
    pub known: HubSchema,
}

/// The schemas with their database and token cache; per-request data is added by [`PerRequest`].
/// `webhooks` is the operator's setting the registration of webhook URLs applies; `exports` signs
/// the export links; `persisted` the known documents and those learned from clients.
pub fn build_schema(
    db: Db,
    authenticator: Authenticator,
    refusals: RefusalLog,
    events: EventBus,
    webhooks: Guard,
    exports: ExportLinks,
    persisted: Arc<Persisted>,
) -> Schemas {
    let build = |known_only: bool| {
        let builder = builder(persisted.clone(), known_only);
        let builder = if known_only { builder.validation_mode(ValidationMode::Fast) } else { builder };
        builder
            .data(db.clone())
            .data(authenticator.clone())
            .data(refusals.clone())
            .data(events.clone())
            .data(webhooks)
            .data(exports.clone())
            .finish()
    };
    Schemas { any: build(false), known: build(true) }
}

/// The schema with no data and no known documents: for its SDL, and for checking documents
/// (`limits::rehearse`) without a database.
pub fn bare_schema() -> HubSchema {
    builder(Arc::default(), false).finish()
}

/// Makes what each request (or WebSocket connection) gets of its own: a fresh batcher
/// (and the viewer, which the web layer resolves from the token).
#[derive(Clone)]
pub struct PerRequest {
    db: Db,
    /// The reference tables read-only requests keep (see [`crate::graphql::batch`]).
    tables: Arc<ReferenceTables>,
}

impl PerRequest {
    pub fn new(db: Db) -> Self {
        Self { db, tables: Arc::default() }
    }

    /// A fresh batcher; whatever uses it must run inside its [`Batcher::drive`].
    pub fn loader(&self) -> Batcher<Loaders> {
        Loaders::batcher(self.db.clone(), self.tables.clone())
    }

    /// Adds the per-request data to a request; execute it inside the batcher's `drive`. (Once the
    /// document is parsed, `RequestHooks` tells the batcher whether the request only reads.)
    pub fn prepare(&self, request: Request, viewer: Viewer) -> (Request, Batcher<Loaders>) {
        let batcher = self.loader();
        (request.data(batcher.clone()).data(viewer), batcher)
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    bare_schema().sdl()
}
