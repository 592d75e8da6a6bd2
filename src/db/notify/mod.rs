//! Notifications' tables: people's preferences and the language of their mails
//! (`preferences`), the hub's signing key (`keys`), webhook endpoints with their secrets and
//! attempts (`webhooks`), the pending history events that wait for the fan-out (`pending`), the
//! fan-out itself (`fanout`) with who hears of what (`audience`), the deliveries it writes for the
//! workers (`deliveries`), what a notification tells of, read when it is sent (`subjects`), and
//! the rows the scheduled notices look at and mark (`scheduled`).

pub mod audience;
pub mod deliveries;
pub mod fanout;
pub mod keys;
pub mod pending;
pub mod preferences;
pub mod scheduled;
pub mod subjects;
pub mod webhooks;

use std::{collections::HashMap, hash::Hash};

/// The value kept for `key`, else what `read` reads, kept: reads that the items of a batch (a
/// fan-out pass, a worker's mails) share are made once.
pub async fn memo<K: Hash + Eq, V: Clone, E>(
    kept: &mut HashMap<K, V>,
    key: K,
    read: impl Future<Output = Result<V, E>>,
) -> Result<V, E> {
    if let Some(value) = kept.get(&key) {
        return Ok(value.clone());
    }
    let value = read.await?;
    kept.insert(key, value.clone());
    Ok(value)
}
