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
    skips_validation: bool,
) -> SchemaBuilder<Query, Mutation, Subscription> {
    hooked(persisted, skips_validation, None)
}

/// The schema with the one extension, `RequestHooks`; `plain` is the schema without it, where
/// the hooks run a query once it passed their checks.
fn hooked(
    persisted: Arc<Persisted>,
    skips_validation: bool,
    plain: Option<HubSchema>,
) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription).extension(RequestHooks::new(
        persisted,
        skips_validation,
        plain,
    ))
}

/// The two schemas of an instance, one API: `any` runs any document through every check;
/// `known` runs the known documents (`graphql::persisted`), validated at start-up, and the kept
/// documents that passed validation on `any` once, with async-graphql's `ValidationMode::Fast`,
/// which skips the validation rules and only adds up the cost (for the variables sent).
/// async-graphql sets the validation mode per schema, not per request, hence two; they share
/// their data, and `RequestHooks` lets nothing else run on `known`.
/// Both hand a query that passed their checks (and costs enough) to a third schema, theirs
/// without the extension, to run it (`RequestHooks::execute`); it is reached only that way.
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
    let with_data = |builder: SchemaBuilder<Query, Mutation, Subscription>| {
        builder
            .data(db.clone())
            .data(authenticator.clone())
            .data(refusals.clone())
            .data(events.clone())
            .data(webhooks)
            .data(exports.clone())
            .finish()
    };
    let plain = with_data(
        Schema::build(Query::default(), Mutation::default(), Subscription)
            .validation_mode(ValidationMode::Fast),
    );
    let build = |skips_validation: bool| {
        let builder = hooked(persisted.clone(), skips_validation, Some(plain.clone()));
        with_data(if skips_validation { builder.validation_mode(ValidationMode::Fast) } else { builder })
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_graphql::{
        Response,
        extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
    };
    use serde_json::json;

    use super::*;

    /// Counts the operations the schema it is added to executes.
    #[derive(Clone, Default)]
    struct Executions(Arc<AtomicUsize>);

    impl ExtensionFactory for Executions {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(self.clone())
        }
    }

    #[async_graphql::async_trait::async_trait]
    impl Extension for Executions {
        async fn execute(
            &self,
            ctx: &ExtensionContext<'_>,
            operation_name: Option<&str>,
            next: NextExecute<'_>,
        ) -> Response {
            self.0.fetch_add(1, Ordering::Relaxed);
            next.run(ctx, operation_name).await
        }
    }

    /// A query that passed the hooks' checks and costs enough runs on the schema without them (no
    /// hook per field), with its variables and the operation named; a cheap one, a mutation
    /// (audited per root field) and a refused query do not.
    #[tokio::test]
    async fn a_checked_query_runs_on_the_schema_without_the_hooks_and_a_mutation_with_them() {
        let plain_runs = Executions::default();
        let plain = Schema::build(Query::default(), Mutation::default(), Subscription)
            .extension(plain_runs.clone())
            .finish();
        let schema = hooked(Arc::default(), false, Some(plain)).finish();
        let runs = || plain_runs.0.load(Ordering::Relaxed);

        let document = "query A { __typename } \
                        query B($n: Int!) { kind: __typename other: regions(first: $n) { nodes { name } } }";
        let request = |n: usize| {
            Request::new(document)
                .operation_name("B")
                .variables(async_graphql::Variables::from_json(json!({ "n": n })))
        };
        let response = schema.execute(request(100)).await;
        assert_eq!(runs(), 1, "a query of cost 100 or more is handed off");
        assert_eq!(response.data.into_json().ok().map(|data| data["kind"].clone()), Some(json!("Query")));
        // With no database the field fails, as it would on the hooked schema: with its path.
        let paths: Vec<String> = response.errors.iter().map(|e| format!("{:?}", e.path)).collect();
        assert!(!paths.is_empty() && paths.iter().all(|p| p.contains("other")), "{paths:?}");

        let cheap = schema.execute(request(1)).await;
        assert_eq!(cheap.data.into_json().ok().map(|data| data["kind"].clone()), Some(json!("Query")));
        assert_eq!(runs(), 1, "a cheap query runs on the hooked schema");

        let mutation = r#"mutation { revokeToken(input: { token: "x" }) { userErrors { message } } }"#;
        schema.execute(Request::new(mutation)).await;
        assert_eq!(runs(), 1, "a mutation runs on the hooked schema");

        let nesting = "regions(first: 100) { nodes { ".repeat(20);
        let too_deep = format!("{{ {nesting}__typename{} }}", " } }".repeat(20));
        let refused = schema.execute(Request::new(too_deep)).await;
        assert!(!refused.errors.is_empty());
        assert_eq!(runs(), 1, "a refused query does not run");
    }
}
