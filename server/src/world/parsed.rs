//! The stored monitors as this process last read them. A change reads the world under its lock;
//! with ten thousand monitors, fetching and parsing every document (3 MB) was most of what a
//! one-field change cost, on whichever replica took it. A monitor's document changes only with
//! its revision, so each one read is kept with the revision it was read at: a change then reads
//! every monitor's id and revision, and the documents of those written since it last looked.

use std::{
    collections::{HashMap, HashSet},
    sync::{LazyLock, Mutex},
};

use serde_json::Value;
use sqlx::PgPool;
use vigil_core::store::{
    world::{self, MonitorHead},
    StoreError,
};

use crate::config::monitors::MonitorConfig;

/// Each monitor's revision and document as read (None: it had none, or it did not read).
type Read = HashMap<i64, (i64, Option<MonitorConfig>)>;

/// By database: the tests run many apps, each with its own, in one process.
static READ: LazyLock<Mutex<HashMap<String, Read>>> = LazyLock::new(Default::default);

fn database(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!(
        "{}:{}/{}",
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or_default()
    )
}

/// Each of `heads`' monitors, read: from what this process read before when it is at the same
/// revision, the rest fetched (on `db`, the transaction that read `heads`) and kept.
pub async fn monitors(
    pool: &PgPool,
    db: &mut sqlx::PgConnection,
    heads: &[MonitorHead],
) -> Result<HashMap<i64, Option<MonitorConfig>>, StoreError> {
    let mut monitors = known(pool, heads);
    let unread: Vec<i64> = heads
        .iter()
        .filter(|h| !monitors.contains_key(&h.id))
        .map(|h| h.id)
        .collect();
    if !unread.is_empty() {
        let docs = world::monitor_docs(db, &unread).await?;
        monitors.extend(crate::workers::off_the_runtime(|| read(pool, heads, docs)));
    }
    Ok(monitors)
}

/// The monitors of `heads` read before at the revision they are at now.
fn known(pool: &PgPool, heads: &[MonitorHead]) -> HashMap<i64, Option<MonitorConfig>> {
    let all = READ.lock().expect("not poisoned");
    let Some(read) = all.get(&database(pool)) else {
        return HashMap::new();
    };
    heads
        .iter()
        .filter_map(|h| match read.get(&h.id) {
            Some((revision, m)) if *revision == h.revision => Some((h.id, m.clone())),
            _ => None,
        })
        .collect()
}

/// Reads these documents (their secrets opened) and keeps them for the next change; forgets
/// monitors that are no longer live.
fn read(
    pool: &PgPool,
    heads: &[MonitorHead],
    docs: Vec<(i64, Option<Value>)>,
) -> HashMap<i64, Option<MonitorConfig>> {
    let by_id: HashMap<i64, &MonitorHead> = heads.iter().map(|h| (h.id, h)).collect();
    let fresh: HashMap<i64, (i64, Option<MonitorConfig>)> = docs
        .into_iter()
        .filter_map(|(id, doc)| {
            let head = by_id.get(&id)?;
            Some((
                id,
                (head.revision, super::World::read_monitor(&head.name, doc)),
            ))
        })
        .collect();
    let mut all = READ.lock().expect("not poisoned");
    let read = all.entry(database(pool)).or_default();
    let live: HashSet<i64> = by_id.keys().copied().collect();
    read.retain(|id, _| live.contains(id));
    read.extend(fresh.iter().map(|(id, v)| (*id, v.clone())));
    fresh.into_iter().map(|(id, (_, m))| (id, m)).collect()
}
