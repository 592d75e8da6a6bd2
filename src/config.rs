//! Typed settings from command-line flags and environment variables, with defaults that just work.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The knowledge-needs hub: municipalities raise knowledge needs, regional bodies prioritise them
/// and commission knowledge summaries, everyone follows what happened.
#[derive(Debug, Parser)]
#[command(name = "knowledge-hub", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run the hub (the default): migrate, load reference data, serve HTTP and WebSocket.
    Serve,
    /// Migrate the database and load the reference data, then exit.
    Migrate,
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database to use: `sqlite:<file>` (created if missing) or `postgres://user@host:port/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:knowledge-hub.db", global = true)]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "HUB_BIND", default_value = "127.0.0.1:8000", global = true)]
    pub bind: SocketAddr,
    /// Log format: human-readable lines or one JSON object per line. Levels come from `RUST_LOG`.
    #[arg(long, env = "HUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// How long (ms) a DataLoader gathers keys before it queries: relation lookups requested
    /// within this window share one SQL statement.
    #[arg(long, env = "HUB_BATCH_WINDOW_MS", default_value_t = 1, global = true)]
    pub batch_window_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}
