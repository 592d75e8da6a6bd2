//! The integration tests: one binary, the real app over HTTP, every test on SQLite and on PostgreSQL.

mod helpers;
mod postgres;

mod attacks;
mod audit;
mod authority;
mod cli;
mod commissions;
mod connections;
mod database_trouble;
mod durability;
mod fuzz;
mod http;
mod idempotency;
mod identity;
mod limits;
mod lists;
mod needs;
mod node;
mod notify_queue;
mod organisations;
mod organisations_data;
mod organisations_edit;
mod pagination;
mod permissions;
mod rate_limit;
mod reach;
mod realtime;
mod reference;
mod round_closing;
mod rounds;
mod schema_file;
mod search;
mod statements;
mod units;
