//! Per-request context helpers, written once: `ctx.db()`, `ctx.loader()`, `ctx.viewer()`.

use async_graphql::Context;

use crate::{
    auth::{Authenticator, Viewer},
    db::Db,
    error::AppError,
    events::EventBus,
    graphql::{batch::Batcher, loaders::Loaders},
};

pub trait ContextExt {
    /// The database pool (schema-wide data).
    fn db(&self) -> Result<&Db, AppError>;
    /// The batcher of this request (or of this WebSocket connection).
    fn loader(&self) -> Result<&Batcher<Loaders>, AppError>;
    /// Who is calling (the public when no token was sent).
    fn viewer(&self) -> Result<&Viewer, AppError>;
    /// The token cache, to clear after changes to tokens or memberships.
    fn authenticator(&self) -> Result<&Authenticator, AppError>;
    /// The channels of committed changes (schema-wide data).
    fn events(&self) -> Result<&EventBus, AppError>;
}

impl ContextExt for Context<'_> {
    fn db(&self) -> Result<&Db, AppError> {
        self.data::<Db>().map_err(|_| AppError::Internal("no database in the GraphQL context".into()))
    }

    fn loader(&self) -> Result<&Batcher<Loaders>, AppError> {
        self.data::<Batcher<Loaders>>()
            .map_err(|_| AppError::Internal("no batcher in the GraphQL context".into()))
    }

    fn viewer(&self) -> Result<&Viewer, AppError> {
        self.data::<Viewer>().map_err(|_| AppError::Internal("no viewer in the GraphQL context".into()))
    }

    fn authenticator(&self) -> Result<&Authenticator, AppError> {
        self.data::<Authenticator>()
            .map_err(|_| AppError::Internal("no authenticator in the GraphQL context".into()))
    }

    fn events(&self) -> Result<&EventBus, AppError> {
        self.data::<EventBus>().map_err(|_| AppError::Internal("no event bus in the GraphQL context".into()))
    }
}
