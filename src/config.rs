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

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run the hub (the default): migrate, load reference data, serve HTTP and WebSocket.
    Serve,
    /// Migrate the database and load the reference data, then exit.
    Migrate,
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Print the known documents (the bundled `documents/` and `--documents-dir`) as a Markdown
    /// table: path, operation, SHA-256 and cost at the variables' defaults; fails naming a
    /// document that is not valid.
    Documents,
    /// Manage API tokens from the server's command line (bootstrap the first coordinator).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load demo people in every role and print a token for each, to try the API at once.
    Demo,
    /// Print the operators' audit log, newest first, one JSON object per line: refusals that
    /// concern no region (unknown or malformed tokens, with the address) and the public's refused
    /// requests, with how often each repeated. Coordinators read their regions' logs in the API.
    Audit {
        /// How many events to print.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Copy a live SQLite database, consistently, to a new file (`VACUUM INTO`); the hub may keep
    /// running. For PostgreSQL use `pg_dump` (see the README).
    Backup {
        /// The file to write; it must not exist yet.
        destination: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TokenCommand {
    /// Create a token, and the person and membership first if they do not exist. Prints the
    /// token once.
    Create(CreateToken),
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateToken {
    /// The person's name (used when the person is created).
    #[arg(long)]
    pub name: String,
    /// The person's e-mail address: who the token is for.
    #[arg(long)]
    pub email: String,
    /// The role to hold; it decides which organisation flag is needed.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// The partnership's key, for `--role coordinator` (e.g. `rso-vest`, `omradesatsingene`,
    /// `ksf`).
    #[arg(long, visible_alias = "region")]
    pub partnership: Option<String>,
    /// The organisation's key or official number, for the other roles: a unit for
    /// `unit-coordinator` and `unit-member` (`kunnskapskommunen`, `4601`, `030115`), an
    /// institution for `institution-member` (`uib`).
    #[arg(long, visible_aliases = ["cluster", "municipality", "institution"])]
    pub organisation: Option<String>,
    /// What to call the token.
    #[arg(long, default_value = "command line")]
    pub token_name: String,
    /// Days until the token expires; never when left out.
    #[arg(long)]
    pub expires_in_days: Option<u32>,
}

impl CreateToken {
    /// The arguments for `role` in `organisation` (a partnership's key for a coordinator; an
    /// organisation's key or official number for the other roles), as the matching flag.
    pub fn for_role(name: &str, email: &str, role: RoleArg, organisation: &str, token_name: &str) -> Self {
        let coordinator = role == RoleArg::Coordinator;
        Self {
            name: name.to_owned(),
            email: email.to_owned(),
            role,
            partnership: coordinator.then(|| organisation.to_owned()),
            organisation: (!coordinator).then(|| organisation.to_owned()),
            token_name: token_name.to_owned(),
            expires_in_days: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Coordinator of a partnership.
    Coordinator,
    /// Coordinator of a unit (what a cluster coordinator was, for any unit).
    #[value(alias = "cluster-coordinator")]
    UnitCoordinator,
    /// Member of a unit (what a municipality member was, for any unit).
    #[value(alias = "municipality-member")]
    UnitMember,
    InstitutionMember,
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
    /// Web origins (`https://dashboard.example.no`, comma-separated) whose pages may open the
    /// WebSocket, besides the hub's own. Clients that send no Origin (servers, scripts) are let in.
    #[arg(long, env = "HUB_ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub allowed_origins: Vec<String>,
    /// Seconds a WebSocket client has to send `connection_init` before it is closed (4408).
    #[arg(long, env = "HUB_WS_INIT_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub ws_init_timeout_secs: u64,
    /// Seconds between the server's keep-alive pings on open WebSockets.
    #[arg(long, env = "HUB_WS_PING_SECS", default_value_t = 30, global = true)]
    pub ws_ping_secs: u64,
    /// Seconds a WebSocket client may leave a message unread before it is dropped as a slow
    /// consumer (1013).
    #[arg(long, env = "HUB_WS_SEND_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub ws_send_timeout_secs: u64,
    /// Database connections in the pool (default 8 for SQLite, 16 for PostgreSQL).
    #[arg(long, env = "HUB_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// How long (ms) a request waits for a free database connection before it fails with
    /// DATABASE_UNAVAILABLE (503, retry).
    #[arg(long, env = "HUB_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000, global = true)]
    pub db_acquire_timeout_ms: u64,
    /// Seconds a client has to send a request's headers, counted from connecting or, on a
    /// kept-alive connection, from the end of the previous response (which also bounds how long
    /// an idle kept-alive connection stays open).
    #[arg(long, env = "HUB_HEADER_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub header_timeout_secs: u64,
    /// Seconds a connection (HTTP or WebSocket) may go without a byte read or written before it
    /// is closed; keep it above `--ws-ping-secs`.
    #[arg(long, env = "HUB_IDLE_TIMEOUT_SECS", default_value_t = 60, global = true)]
    pub idle_timeout_secs: u64,
    /// Connections open at once, WebSockets included; beyond it new connections wait to be
    /// accepted (default: what the limit of open files leaves after the database pool and 64).
    #[arg(long, env = "HUB_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Points per hour for each token (a request costs 1 + its complexity / 100).
    #[arg(long, env = "HUB_RATE_LIMIT", default_value_t = 5_000, global = true)]
    pub rate_limit: u32,
    /// Points per hour for each IP address without a token.
    #[arg(long, env = "HUB_PUBLIC_RATE_LIMIT", default_value_t = 1_000, global = true)]
    pub public_rate_limit: u32,
    /// Seconds between the hub's looks for open rounds past their closing time, which it then
    /// closes (also once at start-up).
    #[arg(long, env = "HUB_ROUND_CHECK_SECS", default_value_t = 30, global = true)]
    pub round_check_secs: u64,
    /// The largest response body (bytes) sent over HTTP; a larger one is replaced by a
    /// RESPONSE_TOO_LARGE error.
    #[arg(long, env = "HUB_MAX_RESPONSE_BYTES", default_value_t = 8 * 1024 * 1024, global = true)]
    pub max_response_bytes: usize,
    /// Let webhooks reach loopback, private and link-local addresses, and `http://` URLs (for
    /// tests, and hubs whose receivers are on their own network). Off, the hub refuses them at
    /// registration and at every delivery (server-side request forgery).
    #[arg(long, env = "HUB_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", global = true)]
    pub webhooks_allow_private_addresses: bool,
    /// Whether this instance runs the notification workers (fan-out, e-mail, webhooks). Off, it
    /// only serves requests; the events its changes record wait for an instance that runs them.
    #[arg(long, env = "HUB_NOTIFY_WORKERS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub notify_workers: bool,
    /// Milliseconds between the notification workers' looks for work nothing woke them for:
    /// retries and digests falling due (changes committed on any instance wake them at once).
    #[arg(long, env = "HUB_NOTIFY_POLL_MS", default_value_t = 1000, global = true)]
    pub notify_poll_ms: u64,
    /// Seconds a worker holds a notification it is sending; if the instance dies before it
    /// records the outcome, another sends it again (with the same message id) after this.
    #[arg(long, env = "HUB_NOTIFY_LEASE_SECS", default_value_t = 120, global = true)]
    pub notify_lease_secs: u64,
    /// Notification e-mail: the SMTP server, the sender, the base of links in mails.
    #[command(flatten)]
    pub mail: MailSettings,
    /// Known documents: the operator's own, and whether the public may run others.
    #[command(flatten)]
    pub documents: DocumentSettings,
}

/// The known documents (see `graphql::persisted`): the repository's `documents/` are compiled in;
/// an operator adds theirs and may restrict the public to them.
#[derive(Clone, Debug, Default, Args)]
pub struct DocumentSettings {
    /// A directory of the operator's own known documents (`*.graphql`, at any depth, one
    /// operation each), read and validated at start-up beside the bundled ones: sendable by hash,
    /// and run without parsing and validation.
    #[arg(long, env = "HUB_DOCUMENTS_DIR", global = true)]
    pub documents_dir: Option<std::path::PathBuf>,
    /// Callers without a token may run known documents only (by hash or by identical text);
    /// others get DOCUMENT_NOT_TRUSTED. Token holders are not restricted.
    #[arg(long, env = "HUB_TRUSTED_DOCUMENTS", global = true)]
    pub trusted_documents: bool,
}

/// How the hub sends e-mail. Without `--smtp-host` e-mail is off, and the hub says so once at
/// start-up; everything else works as before.
#[derive(Clone, Debug, Args)]
pub struct MailSettings {
    /// The SMTP server to send notification e-mail through; e-mail is off when left out.
    #[arg(long, env = "HUB_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    /// The SMTP server's port (default: 587 with STARTTLS, 465 with TLS, 25 with none).
    #[arg(long, env = "HUB_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,
    /// How the connection to the SMTP server is secured: STARTTLS (required, not opportunistic),
    /// TLS from the first byte, or none (a relay on the same host only).
    #[arg(long, env = "HUB_SMTP_SECURITY", value_enum, default_value_t = SmtpSecurity::Starttls, global = true)]
    pub smtp_security: SmtpSecurity,
    /// The user name to log in to the SMTP server with; the password is `HUB_SMTP_PASSWORD`,
    /// from the environment only (never a flag, so it is not in the process list, and never
    /// logged).
    #[arg(long, env = "HUB_SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,
    #[arg(skip = SmtpPassword::from_env())]
    pub smtp_password: SmtpPassword,
    /// The sender of the hub's mails, e.g. `Kunnskapshuben <varsel@kunnskapshub.no>`.
    #[arg(long, env = "HUB_MAIL_FROM", default_value = DEFAULT_MAIL_FROM, global = true)]
    pub mail_from: String,
    /// The hub's address as people reach it (`https://kunnskapshub.no`): the base of the links in
    /// mails (default: `http://` and the bind address).
    #[arg(long, env = "HUB_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
}

/// The sender when `--mail-from` is not given.
pub const DEFAULT_MAIL_FROM: &str = "knowledge-hub <noreply@localhost>";

/// E-mail off, as with no flags.
impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: None,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: None,
            smtp_password: SmtpPassword::default(),
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SmtpSecurity {
    /// Plain SMTP: only for a relay on the same host or network.
    None,
    /// STARTTLS, required (the default).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// The SMTP password from `HUB_SMTP_PASSWORD`: its `Debug` shows whether one is set, never it.
#[derive(Clone, Default)]
pub struct SmtpPassword(Option<String>);

impl SmtpPassword {
    pub fn new(password: Option<String>) -> Self {
        Self(password)
    }

    fn from_env() -> Self {
        Self(std::env::var("HUB_SMTP_PASSWORD").ok().filter(|p| !p.is_empty()))
    }

    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl std::fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "SmtpPassword(set)" } else { "SmtpPassword(none)" })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}
