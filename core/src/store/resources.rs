//! Node resource samples: raw rows plus 1-minute and 1-hour rollups written in one statement per
//! batch, graph series read from the resolution that suits the range, and retention.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::model::resource::{Metric, NodeSummary, Point, Resolution, Series};

use super::{PgPool, StoreError};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub node_id: i32,
    pub metric: Metric,
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// The id of a node by name, creating it on first sight.
pub async fn node_id(pool: &PgPool, name: &str, source: &str) -> Result<i32, StoreError> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO resource_nodes (name, source) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source RETURNING id",
        name,
        source
    )
    .fetch_one(pool)
    .await?)
}

/// Writes samples and folds them into the rollups in one statement. Samples already stored
/// (same node, metric and time) are skipped and not counted twice. Returns how many were new.
/// NaN and infinities are not data: callers drop them, and they are refused here too.
pub async fn write(pool: &PgPool, samples: &[Sample]) -> Result<u64, StoreError> {
    let samples: Vec<&Sample> = samples.iter().filter(|s| s.value.is_finite()).collect();
    if samples.is_empty() {
        return Ok(0);
    }
    let n = samples.len();
    let (mut nodes, mut metrics, mut ats, mut values) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for s in samples {
        nodes.push(s.node_id);
        metrics.push(s.metric.id());
        ats.push(s.at);
        values.push(s.value);
    }
    // One statement: the raw rows (skipping ones already stored), every rollup (1 minute,
    // 5 minutes, 1 hour) folded from exactly the rows inserted, and the nodes' last-seen times.
    let inserted: i64 = sqlx::query_scalar!(
        "WITH ins AS ( \
           INSERT INTO resource_samples (node_id, metric, at, value) \
           SELECT * FROM UNNEST($1::int4[], $2::int2[], $3::timestamptz[], $4::float8[]) \
           ON CONFLICT DO NOTHING RETURNING node_id, metric, at, value) \
        , r0 AS ( \
           INSERT INTO resource_rollups_1m AS r (node_id, metric, bucket, n, sum, min, max) \
           SELECT node_id, metric, date_trunc('minute', at), count(*), sum(value), min(value), max(value) \
           FROM ins GROUP BY 1, 2, 3 \
           ON CONFLICT (node_id, metric, bucket) DO UPDATE SET n = r.n + EXCLUDED.n, \
             sum = r.sum + EXCLUDED.sum, min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)) \
        , r1 AS ( \
           INSERT INTO resource_rollups_5m AS r (node_id, metric, bucket, n, sum, min, max) \
           SELECT node_id, metric, date_bin('5 minutes', at, 'epoch'::timestamptz), count(*), sum(value), min(value), max(value) \
           FROM ins GROUP BY 1, 2, 3 \
           ON CONFLICT (node_id, metric, bucket) DO UPDATE SET n = r.n + EXCLUDED.n, \
             sum = r.sum + EXCLUDED.sum, min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)) \
        , r2 AS ( \
           INSERT INTO resource_rollups_1h AS r (node_id, metric, bucket, n, sum, min, max) \
           SELECT node_id, metric, date_trunc('hour', at), count(*), sum(value), min(value), max(value) \
           FROM ins GROUP BY 1, 2, 3 \
           ON CONFLICT (node_id, metric, bucket) DO UPDATE SET n = r.n + EXCLUDED.n, \
             sum = r.sum + EXCLUDED.sum, min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)) \
         , seen AS ( \
           UPDATE resource_nodes SET last_seen = GREATEST(last_seen, l.at) \
           FROM (SELECT node_id, max(at) AS at FROM ins GROUP BY 1) l WHERE resource_nodes.id = l.node_id) \
         SELECT count(*) AS \"inserted!\" FROM ins",
        &nodes,
        &metrics,
        &ats,
        &values
    )
    .fetch_one(pool)
        .await?;
    Ok(inserted as u64)
}

/// One metric of every node (or of one, by name) over `[from, to]`, from the resolution that
/// suits the span: raw up to 6 h, 1-minute rollups up to 12 h, 5-minute up to 3 days, hourly
/// beyond.
pub async fn series(
    pool: &PgPool,
    node: Option<&str>,
    metric: Metric,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    sample_secs: u64,
) -> Result<Vec<Series>, StoreError> {
    let resolution = Resolution::for_range(to - from);
    // Ordered by node id and time, the primary key's order: no sort, names joined afterwards.
    let (table, value, max, trunc) = match resolution {
        Resolution::Raw => ("resource_samples", "value", "value", "$3::timestamptz"),
        Resolution::Minute => (
            "resource_rollups_1m",
            "sum / n",
            "max::float8",
            "date_trunc('minute', $3::timestamptz)",
        ),
        Resolution::FiveMinutes => (
            "resource_rollups_5m",
            "sum / n",
            "max::float8",
            "date_bin('5 minutes', $3::timestamptz, 'epoch'::timestamptz)",
        ),
        Resolution::Hour => (
            "resource_rollups_1h",
            "sum / n",
            "max::float8",
            "date_trunc('hour', $3::timestamptz)",
        ),
    };
    let at = if resolution == Resolution::Raw {
        "at"
    } else {
        "bucket"
    };
    let names = sqlx::query!(
        "SELECT id, name FROM resource_nodes WHERE $1::text IS NULL OR name = $1 ORDER BY id",
        node
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<i32> = names.iter().map(|n| n.id).collect();
    // The one query built at run time: the table and columns follow the resolution, and
    // identifiers cannot be bind parameters. Each variant is exercised by the series tests.
    #[derive(sqlx::FromRow)]
    struct Sample {
        node_id: i32,
        at: DateTime<Utc>,
        value: f64,
        max: f64,
    }
    let sql = format!(
        "SELECT node_id, {at} AS at, {value} AS value, {max} AS max FROM {table} \
         WHERE node_id = ANY($1) AND metric = $2 AND {at} >= {trunc} AND {at} <= $4 ORDER BY node_id, {at}"
    );
    let fetched: Vec<Sample> = sqlx::query_as(&sql)
        .bind(&ids)
        .bind(metric.id())
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    let name_of: HashMap<i32, &String> = names.iter().map(|n| (n.id, &n.name)).collect();
    let rows = fetched.into_iter().filter_map(|s| {
        let name = name_of.get(&s.node_id)?.to_string();
        Some((name, s.at, s.value, s.max))
    });
    let gap_ms = resolution.gap_after(sample_secs).num_milliseconds();
    let mut out: Vec<Series> = Vec::new();
    for (name, at, v, max) in rows {
        if out.last().is_none_or(|s| s.node != name) {
            out.push(Series {
                node: name.clone(),
                metric,
                resolution,
                gap_ms,
                points: Vec::new(),
            });
        }
        out.last_mut().expect("pushed").points.push(Point {
            t: at.timestamp_millis(),
            v,
            max,
        });
    }
    Ok(out)
}

/// Every node with its newest memory, CPU and memory-pressure values. A node is stale when its
/// newest sample is older than `stale_after` (e.g. it disappeared, or its source stopped).
pub async fn nodes(
    pool: &PgPool,
    now: DateTime<Utc>,
    stale_after: Duration,
) -> Result<Vec<NodeSummary>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Latest {
        name: String,
        source: String,
        last_seen: Option<DateTime<Utc>>,
        metric: Option<i16>,
        value: Option<f64>,
    }
    let rows: Vec<Latest> =
        sqlx::query_as!(
            Latest,
            "SELECT n.name, n.source, n.last_seen, m.metric, \
               (SELECT value FROM resource_samples s WHERE s.node_id = n.id AND s.metric = m.metric \
                ORDER BY at DESC LIMIT 1) AS value \
             FROM resource_nodes n CROSS JOIN unnest(ARRAY[1, 2, 3]::int2[]) AS m(metric) \
             ORDER BY n.name"
        )
        .fetch_all(pool)
        .await?;
    let mut by_name: Vec<NodeSummary> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for Latest {
        name,
        source,
        last_seen,
        metric,
        value,
    } in rows
    {
        let i = *index.entry(name.clone()).or_insert_with(|| {
            by_name.push(NodeSummary {
                stale: last_seen.is_none_or(|at| now - at > stale_after),
                name,
                source,
                memory: None,
                cpu: None,
                memory_pressure: None,
                sampled_at: last_seen,
            });
            by_name.len() - 1
        });
        match metric.and_then(Metric::from_id) {
            Some(Metric::Memory) => by_name[i].memory = value,
            Some(Metric::Cpu) => by_name[i].cpu = value,
            Some(Metric::MemoryPressure) => by_name[i].memory_pressure = value,
            _ => {}
        }
    }
    Ok(by_name)
}

/// Drops raw rows and rollups older than their retention.
pub async fn expire(
    pool: &PgPool,
    raw_before: DateTime<Utc>,
    minute_before: DateTime<Utc>,
    hour_before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut n = 0;
    n += sqlx::query!("DELETE FROM resource_samples WHERE at < $1", raw_before)
        .execute(pool)
        .await?
        .rows_affected();
    n += sqlx::query!(
        "DELETE FROM resource_rollups_1m WHERE bucket < $1",
        minute_before
    )
    .execute(pool)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "DELETE FROM resource_rollups_5m WHERE bucket < $1",
        minute_before
    )
    .execute(pool)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "DELETE FROM resource_rollups_1h WHERE bucket < $1",
        hour_before
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n)
}

/// The newest sample time among the nodes a source feeds: where its backfill resumes.
pub async fn newest_from(pool: &PgPool, source: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT max(last_seen) FROM resource_nodes WHERE source = $1",
        source
    )
    .fetch_one(pool)
    .await?)
}
