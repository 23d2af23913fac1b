//! What the chain of causes reads: the recorded evidence of an incident's window, and the parts
//! of the dependency map the sources discovered (balancers' addresses and backends, Kubernetes
//! nodes). The map is completed and the chain decided outside the store (`model::causes`).

use chrono::{DateTime, Utc};

use super::{PgPool, StoreError};
use crate::model::{
    causes::{OverRequest, Seen},
    event::EventData,
    resource::Metric,
};

/// The event kinds a chain can cite.
const KINDS: [&str; 10] = [
    "monitor.state",
    "lb.backend",
    "lb.flapping",
    "lb.ingress",
    "lb.config",
    "upstream.incident",
    "upstream.component",
    "k8s.node",
    "k8s.pod",
    "resource.alert",
];

/// At most this many events are read for one chain: a flapping hour stays well within it, and a
/// pathological window cannot make one request read the whole table.
const MAX_EVENTS: i64 = 50_000;

/// The window's citable events (oldest first) and its over-requested readings.
pub async fn evidence(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Seen>, Vec<OverRequest>), StoreError> {
    let kinds: Vec<String> = KINDS.iter().map(|k| k.to_string()).collect();
    let rows = sqlx::query!(
        "SELECT id, at, kind, payload FROM events WHERE at >= $1 AND at <= $2 \
         AND kind = ANY($3) ORDER BY at, id LIMIT $4",
        from,
        to,
        &kinds,
        MAX_EVENTS
    )
    .fetch_all(pool)
    .await?;
    let events = rows
        .into_iter()
        .map(|r| Seen {
            id: r.id,
            at: r.at,
            data: EventData::parse(&r.kind, r.payload),
        })
        .collect();
    // Raw readings where they are still kept, minute rollups' peaks where they are not.
    let over = sqlx::query!(
        "SELECT n.name AS \"node!\", s.at AS \"at!\", s.value AS \"ratio!\" \
         FROM resource_samples s JOIN resource_nodes n ON n.id = s.node_id \
         WHERE s.metric = $1 AND s.value > 1 AND s.at >= $2 AND s.at <= $3 \
         UNION ALL \
         SELECT n.name, r.bucket, r.max::float8 FROM resource_rollups_1m r \
         JOIN resource_nodes n ON n.id = r.node_id \
         WHERE r.metric = $1 AND r.max > 1 AND r.bucket >= $2 AND r.bucket <= $3 \
         ORDER BY 2 LIMIT 10000",
        Metric::RequestsRatio.id(),
        from,
        to
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| OverRequest {
        node: r.node,
        at: r.at,
        ratio: r.ratio,
    })
    .collect();
    Ok((events, over))
}

/// A backend as the balancer reports it.
pub struct BackendRow {
    pub nodebalancer: String,
    pub port: u16,
    pub label: String,
    pub address: String,
}

/// A balancer's own addresses.
pub struct BalancerRow {
    pub label: String,
    pub hostname: Option<String>,
    pub addresses: Vec<String>,
}

/// A Kubernetes node as last read.
pub struct NodeRow {
    pub cluster: String,
    pub node: String,
    pub internal_ip: Option<String>,
    pub memory_allocatable_bytes: Option<i64>,
    pub cpu_allocatable_millis: Option<i64>,
}

/// What the sources discovered.
pub struct Discovered {
    pub backends: Vec<BackendRow>,
    pub balancers: Vec<BalancerRow>,
    pub nodes: Vec<NodeRow>,
}

pub async fn discovered(pool: &PgPool) -> Result<Discovered, StoreError> {
    let backends = sqlx::query!(
        "SELECT nodebalancer_label, port, label, address FROM lb_backends \
         ORDER BY nodebalancer_label, port, label"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| BackendRow {
        nodebalancer: r.nodebalancer_label,
        port: u16::try_from(r.port).unwrap_or_default(),
        label: r.label,
        address: r.address,
    })
    .collect();
    let balancers = sqlx::query_as!(
        BalancerRow,
        "SELECT label, hostname, addresses FROM lb_nodebalancers ORDER BY label"
    )
    .fetch_all(pool)
    .await?;
    let nodes = sqlx::query_as!(
        NodeRow,
        "SELECT cluster, node, internal_ip, memory_allocatable_bytes, cpu_allocatable_millis \
         FROM k8s_nodes WHERE NOT gone ORDER BY cluster, node"
    )
    .fetch_all(pool)
    .await?;
    Ok(Discovered {
        backends,
        balancers,
        nodes,
    })
}
