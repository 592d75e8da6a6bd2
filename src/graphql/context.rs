//! Per-request context helpers, written once: `ctx.db()` and `ctx.loader()`.

use async_graphql::{Context, dataloader::DataLoader};

use crate::{db::Db, error::AppError, graphql::loaders::Loaders};

pub trait ContextExt {
    /// The database pool (schema-wide data).
    fn db(&self) -> Result<&Db, AppError>;
    /// The DataLoader of this request (or of this WebSocket connection).
    fn loader(&self) -> Result<&DataLoader<Loaders>, AppError>;
}

impl ContextExt for Context<'_> {
    fn db(&self) -> Result<&Db, AppError> {
        self.data::<Db>().map_err(|_| AppError::Internal("no database in the GraphQL context".into()))
    }

    fn loader(&self) -> Result<&DataLoader<Loaders>, AppError> {
        self.data::<DataLoader<Loaders>>()
            .map_err(|_| AppError::Internal("no DataLoader in the GraphQL context".into()))
    }
}
