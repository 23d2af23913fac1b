//! Kubernetes clusters: each node's newest conditions and requests, the events of condition
//! transitions and pod troubles, recorded once each.

use chrono::{DateTime, Utc};

use super::{events, PgPool, StoreError};
use crate::model::{
    event::{EventData, K8sNodeCondition, K8sPodTrouble},
    kubernetes::{condition_changes, ratio, NodeCondition, NodeView, Requests},
};

/// Forgets the nodes of clusters no longer configured.
pub async fn sync(pool: &PgPool, clusters: &[String]) -> Result<(), StoreError> {
    sqlx::query!("DELETE FROM k8s_nodes WHERE cluster <> ALL($1)", clusters)
        .execute(pool)
        .await?;
    Ok(())
}

/// Stores a node as the API server sent it and appends a `k8s.node` event for each followed
/// condition that changed (on first sight: each bad one), in one transaction. Returns the
/// changes.
pub async fn observe_node(
    pool: &PgPool,
    cluster: &str,
    node: &str,
    conditions: &[NodeCondition],
    allocatable: (Option<i64>, Option<i64>),
    internal_ip: Option<&str>,
) -> Result<Vec<NodeCondition>, StoreError> {
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!(
        "SELECT conditions FROM k8s_nodes WHERE cluster = $1 AND node = $2 AND NOT gone \
         FOR UPDATE",
        cluster,
        node
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|v| serde_json::from_value::<Vec<NodeCondition>>(v).unwrap_or_default());
    let changes = condition_changes(before.as_deref(), conditions);
    let stored = serde_json::to_value(conditions).expect("conditions serialise");
    sqlx::query!(
        "INSERT INTO k8s_nodes (cluster, node, conditions, cpu_allocatable_millis, \
         memory_allocatable_bytes, internal_ip, updated_at, gone) \
         VALUES ($1, $2, $3, $4, $5, $6, now(), false) \
         ON CONFLICT (cluster, node) DO UPDATE SET conditions = $3, cpu_allocatable_millis = $4, \
         memory_allocatable_bytes = $5, internal_ip = $6, updated_at = now(), gone = false",
        cluster,
        node,
        stored,
        allocatable.0,
        allocatable.1,
        internal_ip
    )
    .execute(&mut *tx)
    .await?;
    for c in &changes {
        let data = EventData::K8sNode(K8sNodeCondition {
            cluster: cluster.to_string(),
            node: node.to_string(),
            condition: c.clone(),
        });
        let subject = format!("k8s:{cluster}:{node}:{}", c.kind);
        events::append_in(&mut tx, &subject, &data).await?;
    }
    tx.commit().await?;
    Ok(changes)
}

/// The node left the cluster (deleted, or missing from a fresh list).
pub async fn node_gone(pool: &PgPool, cluster: &str, node: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE k8s_nodes SET gone = true, updated_at = now() WHERE cluster = $1 AND node = $2",
        cluster,
        node
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores each node's summed pod requests.
pub async fn set_requests(
    pool: &PgPool,
    cluster: &str,
    requests: &[(String, Requests)],
) -> Result<(), StoreError> {
    let nodes: Vec<String> = requests.iter().map(|(n, _)| n.clone()).collect();
    let cpu: Vec<i64> = requests.iter().map(|(_, r)| r.cpu_millis).collect();
    let memory: Vec<i64> = requests.iter().map(|(_, r)| r.memory_bytes).collect();
    let pods: Vec<i32> = requests.iter().map(|(_, r)| r.pods).collect();
    sqlx::query!(
        "UPDATE k8s_nodes n SET cpu_requests_millis = r.cpu, memory_requests_bytes = r.memory, \
         pods = r.pods, updated_at = now() \
         FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[]) AS r(node, cpu, memory, pods) \
         WHERE n.cluster = $1 AND n.node = r.node",
        cluster,
        &nodes,
        &cpu,
        &memory,
        &pods
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Appends a `k8s.pod` event unless the trouble known by `key` was recorded already (a re-list
/// sends every pod again). Returns whether it was new.
pub async fn record_pod_trouble(
    pool: &PgPool,
    key: &str,
    trouble: &K8sPodTrouble,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let new = sqlx::query!(
        "INSERT INTO k8s_seen (cluster, key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &trouble.cluster,
        key
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if new {
        let subject = format!(
            "k8s:{}:{}/{}",
            trouble.cluster, trouble.namespace, trouble.pod
        );
        events::append_in(&mut tx, &subject, &EventData::K8sPod(trouble.clone())).await?;
    }
    tx.commit().await?;
    Ok(new)
}

/// Forgets which troubles were recorded before `before` (pods that old are long gone).
pub async fn expire_seen(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(sqlx::query!("DELETE FROM k8s_seen WHERE at < $1", before)
        .execute(pool)
        .await?
        .rows_affected())
}

/// Every node still in its cluster, by cluster and name.
pub async fn nodes(pool: &PgPool) -> Result<Vec<NodeView>, StoreError> {
    let rows = sqlx::query!(
        "SELECT cluster, node, conditions, cpu_allocatable_millis, memory_allocatable_bytes, \
         cpu_requests_millis, memory_requests_bytes, pods, updated_at FROM k8s_nodes \
         WHERE NOT gone ORDER BY cluster, node"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NodeView {
            cpu_requests_ratio: ratio(r.cpu_requests_millis, r.cpu_allocatable_millis),
            memory_requests_ratio: ratio(r.memory_requests_bytes, r.memory_allocatable_bytes),
            cluster: r.cluster,
            node: r.node,
            conditions: serde_json::from_value(r.conditions).unwrap_or_default(),
            cpu_allocatable_millis: r.cpu_allocatable_millis,
            memory_allocatable_bytes: r.memory_allocatable_bytes,
            cpu_requests_millis: r.cpu_requests_millis,
            memory_requests_bytes: r.memory_requests_bytes,
            pods: r.pods,
            updated_at: r.updated_at,
        })
        .collect())
}
