//! The world as data: components and monitors, each with the revision that last changed it, and
//! the numbered revisions themselves. Every change goes through one [`WorldTx`]: it holds the
//! head row's lock from the first read to the commit, so two writers never both decide from the
//! same world, and revision numbers have no gaps.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use crate::model::event::EventData;

pub use super::read_only_snapshot;
use super::{PgPool, StoreError};

/// A live component as stored.
#[derive(Clone, Debug)]
pub struct StoredComponent {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub revision: i64,
    pub managed_by: Option<String>,
}

/// A live monitor as stored: its database id and the object as written (`doc`).
#[derive(Clone, Debug)]
pub struct StoredMonitor {
    pub id: i64,
    pub name: String,
    pub doc: Option<Value>,
    pub revision: i64,
    pub managed_by: Option<String>,
}

/// A live setting as stored: a data source, a notification channel, an alert rule or the
/// page's settings (`kind`), its document as written (secrets sealed).
#[derive(Clone, Debug)]
pub struct StoredSetting {
    pub kind: String,
    pub id: String,
    pub doc: Value,
    pub revision: i64,
    pub managed_by: Option<String>,
}

/// One numbered revision of the world: who, when and what changed (its world: [`world_at`]).
#[derive(Clone, Debug)]
pub struct Revision {
    pub number: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub message: Option<String>,
    pub changes: Value,
}

/// One object's document as the worlds from revision `since` on hold it (secrets hidden).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredVersion {
    /// `component`, `monitor` or a setting's kind.
    pub kind: String,
    pub id: String,
    pub position: i32,
    pub doc: Value,
}

/// The world after a revision, as stored.
#[derive(Debug)]
pub enum WorldAt {
    /// Whole, as revisions written before versions keep it.
    Whole(Value),
    /// The versions alive at it, by kind, then in order.
    Versions(Vec<StoredVersion>),
}

/// Each live monitor's id and spec (as the probes run it), with the revision they are from.
pub async fn live_specs(pool: &PgPool) -> Result<(i64, Vec<(i64, Value)>), StoreError> {
    let mut tx = pool.begin().await?;
    read_only_snapshot(&mut tx).await?;
    let head = head(&mut *tx).await?;
    let rows = sqlx::query!("SELECT id, spec FROM monitors WHERE NOT retired ORDER BY id")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((head, rows.into_iter().map(|r| (r.id, r.spec)).collect()))
}

/// What changed in the monitors after revision `since`: those written since (their id and
/// spec) and those retired since (their id), with the head they are as of.
pub async fn specs_since(
    pool: &PgPool,
    since: i64,
) -> Result<(i64, Vec<(i64, Value)>, Vec<i64>), StoreError> {
    let mut tx = pool.begin().await?;
    read_only_snapshot(&mut tx).await?;
    let head = head(&mut *tx).await?;
    let rows = sqlx::query!(
        "SELECT id, spec, retired FROM monitors WHERE revision > $1 ORDER BY id",
        since
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let (mut written, mut retired) = (Vec::new(), Vec::new());
    for r in rows {
        if r.retired {
            retired.push(r.id);
        } else {
            written.push((r.id, r.spec));
        }
    }
    Ok((head, written, retired))
}

/// What a monitor row holds besides its document: what the probes read without parsing it.
pub struct MonitorRow<'a> {
    pub name: &'a str,
    pub component: &'a str,
    pub kind: &'a str,
    pub spec: Value,
    pub doc: Value,
    pub interval_secs: i32,
}

/// Every monitor's spec and document as stored (retired ones too: their history is theirs), for
/// sealing secrets written before they were sealed.
pub async fn stored_forms(pool: &PgPool) -> Result<Vec<(i64, Value, Option<Value>)>, StoreError> {
    Ok(
        sqlx::query!("SELECT id, spec, doc FROM monitors ORDER BY id")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.spec, r.doc))
            .collect(),
    )
}

/// Rewrites a monitor's stored forms in place (the same monitor, its secrets sealed): not a
/// change of the world, so no revision.
pub async fn rewrite_forms(
    pool: &PgPool,
    id: i64,
    spec: &Value,
    doc: Option<&Value>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE monitors SET spec = $2, doc = $3 WHERE id = $1",
        id,
        spec,
        doc
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest revision's number (0 before the first).
pub async fn head(db: impl sqlx::PgExecutor<'_>) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar!("SELECT revision FROM world_head WHERE only_row")
            .fetch_one(db)
            .await?,
    )
}

pub async fn components(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<StoredComponent>, StoreError> {
    Ok(sqlx::query_as!(
        StoredComponent,
        "SELECT id, name, group_name AS \"group\", description, revision, managed_by \
         FROM components WHERE NOT retired ORDER BY position, id",
    )
    .fetch_all(db)
    .await?)
}

pub async fn monitors(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<StoredMonitor>, StoreError> {
    Ok(sqlx::query_as!(
        StoredMonitor,
        "SELECT id, name, doc, revision, managed_by FROM monitors WHERE NOT retired ORDER BY id",
    )
    .fetch_all(db)
    .await?)
}

/// A live monitor without its document: enough to tell whether a copy parsed earlier is current.
#[derive(Clone, Debug)]
pub struct MonitorHead {
    pub id: i64,
    pub name: String,
    pub revision: i64,
    pub managed_by: Option<String>,
}

pub async fn monitor_heads(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<MonitorHead>, StoreError> {
    Ok(sqlx::query_as!(
        MonitorHead,
        "SELECT id, name, revision, managed_by FROM monitors WHERE NOT retired ORDER BY id",
    )
    .fetch_all(db)
    .await?)
}

/// The live monitor named `name`, without its document.
pub async fn monitor_head(pool: &PgPool, name: &str) -> Result<Option<MonitorHead>, StoreError> {
    Ok(sqlx::query_as!(
        MonitorHead,
        "SELECT id, name, revision, managed_by FROM monitors WHERE name = $1 AND NOT retired",
        name,
    )
    .fetch_optional(pool)
    .await?)
}

/// The name of the live monitor with database id `id`.
pub async fn live_monitor_name(pool: &PgPool, id: i64) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT name FROM monitors WHERE id = $1 AND NOT retired",
        id
    )
    .fetch_optional(pool)
    .await?)
}

/// These monitors' documents as written (None: written before worlds were revisions).
pub async fn monitor_docs(
    db: impl sqlx::PgExecutor<'_>,
    ids: &[i64],
) -> Result<Vec<(i64, Option<Value>)>, StoreError> {
    Ok(
        sqlx::query!("SELECT id, doc FROM monitors WHERE id = ANY($1)", ids)
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|r| (r.id, r.doc))
            .collect(),
    )
}

/// The newest revisions first, at most `limit`.
pub async fn revisions(pool: &PgPool, limit: i64) -> Result<Vec<Revision>, StoreError> {
    Ok(sqlx::query_as!(
        Revision,
        "SELECT number, at, actor, message, changes FROM world_revisions \
         ORDER BY number DESC LIMIT $1",
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// The world after revision `number` (None: there is no such revision). A revision's versions
/// never change once a later one exists, so this needs no snapshot of its own.
pub async fn world_at(pool: &PgPool, number: i64) -> Result<Option<WorldAt>, StoreError> {
    let Some(row) = sqlx::query!(
        "SELECT world FROM world_revisions WHERE number = $1",
        number
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    if let Some(world) = row.world {
        return Ok(Some(WorldAt::Whole(world)));
    }
    Ok(Some(WorldAt::Versions(
        sqlx::query_as!(
            StoredVersion,
            "SELECT kind, id, position, doc FROM world_versions \
             WHERE since <= $1 AND (until IS NULL OR until > $1) ORDER BY kind, position, id",
            number,
        )
        .fetch_all(pool)
        .await?,
    )))
}

/// The live settings, each kind in the order it was written.
pub async fn settings(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<StoredSetting>, StoreError> {
    Ok(sqlx::query_as!(
        StoredSetting,
        "SELECT kind, id, doc, revision, managed_by FROM world_settings WHERE NOT retired \
         ORDER BY kind, position, id",
    )
    .fetch_all(db)
    .await?)
}

/// Whether any setting was ever written (retired ones count): a database that has had
/// settings decides them itself.
pub async fn ever_had_settings(pool: &PgPool) -> Result<bool, StoreError> {
    Ok(
        sqlx::query_scalar!("SELECT EXISTS (SELECT 1 FROM world_settings) AS \"any!\"")
            .fetch_one(pool)
            .await?,
    )
}

/// A change of the world in progress: the head row is locked until [`WorldTx::commit`] (or the
/// value is dropped, which rolls everything back).
pub struct WorldTx {
    tx: Transaction<'static, Postgres>,
    /// The revision the change starts from.
    pub head: i64,
}

/// Starts a change: waits for any other writer to finish, then reads the head.
pub async fn begin(pool: &PgPool) -> Result<WorldTx, StoreError> {
    let mut tx = pool.begin().await?;
    let head = sqlx::query_scalar!("SELECT revision FROM world_head WHERE only_row FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    Ok(WorldTx { tx, head })
}

impl WorldTx {
    pub async fn components(&mut self) -> Result<Vec<StoredComponent>, StoreError> {
        components(&mut *self.tx).await
    }

    /// The transaction itself, for reads the store offers on any connection
    /// ([`monitor_heads`], [`monitor_docs`]): they see the world as the lock holds it.
    pub fn connection(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    pub async fn settings(&mut self) -> Result<Vec<StoredSetting>, StoreError> {
        settings(&mut *self.tx).await
    }

    /// Creates, revives or changes a setting, and puts it in its place.
    pub async fn put_setting(
        &mut self,
        s: &StoredSetting,
        position: i32,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "INSERT INTO world_settings (kind, id, doc, position, revision, managed_by) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (kind, id) DO UPDATE SET doc = $3, position = $4, revision = $5, \
             managed_by = $6, retired = false, updated_at = now()",
            s.kind,
            s.id,
            s.doc,
            position,
            s.revision,
            s.managed_by,
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves a setting without changing its revision.
    pub async fn place_setting(
        &mut self,
        kind: &str,
        id: &str,
        position: i32,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE world_settings SET position = $3 WHERE kind = $1 AND id = $2 AND position <> $3",
            kind,
            id,
            position
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Retires a setting: its collector or channel stops; its history is kept.
    pub async fn retire_setting(
        &mut self,
        kind: &str,
        id: &str,
        revision: i64,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE world_settings SET retired = true, revision = $3, updated_at = now() \
             WHERE kind = $1 AND id = $2",
            kind,
            id,
            revision
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Creates or revives a component, or changes it.
    pub async fn put_component(
        &mut self,
        c: &StoredComponent,
        position: i32,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "INSERT INTO components (id, name, group_name, description, position, revision, managed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET name = $2, group_name = $3, description = $4, \
             position = $5, revision = $6, managed_by = $7, retired = false, updated_at = now()",
            c.id,
            c.name,
            c.group,
            c.description,
            position,
            c.revision,
            c.managed_by,
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves a component without changing its revision (others were added or removed before it).
    pub async fn place_component(&mut self, id: &str, position: i32) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE components SET position = $2 WHERE id = $1 AND position <> $2",
            id,
            position
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Retires a component: gone from the page, its history kept.
    pub async fn retire_component(&mut self, id: &str, revision: i64) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE components SET retired = true, revision = $2, updated_at = now() WHERE id = $1",
            id,
            revision
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Creates or revives a monitor (by name), or changes it. Returns its id.
    pub async fn put_monitor(
        &mut self,
        m: &MonitorRow<'_>,
        revision: i64,
        managed_by: Option<&str>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            "INSERT INTO monitors (name, component_id, kind, spec, doc, interval_secs, revision, managed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET component_id = $2, kind = $3, spec = $4, doc = $5, \
             interval_secs = $6, revision = $7, managed_by = $8, retired = false, updated_at = now() \
             RETURNING id",
            m.name,
            m.component,
            m.kind,
            m.spec,
            m.doc,
            m.interval_secs,
            revision,
            managed_by,
        )
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Retires a monitor: no more checks, its results and events kept.
    pub async fn retire_monitor(&mut self, name: &str, revision: i64) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE monitors SET retired = true, revision = $2, updated_at = now() WHERE name = $1",
            name,
            revision
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Retires what no revision wrote: the components and monitors older versions synced from
    /// the configuration file at every start. Called by the first revision only.
    pub async fn retire_unrevised(&mut self) -> Result<(), StoreError> {
        sqlx::query!("UPDATE components SET retired = true WHERE revision = 0")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query!("UPDATE monitors SET retired = true WHERE revision = 0")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Names of the open incidents and maintenances that name this component.
    pub async fn open_incidents_of(&mut self, component: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT i.name FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id \
             WHERE ic.component_id = $1 AND i.status NOT IN ('resolved', 'completed') \
             ORDER BY i.id",
            component
        )
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// The first revision whose world the versions hold; None before any change wrote them.
    pub async fn versions_since(&mut self) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar!("SELECT versions_since FROM world_head WHERE only_row")
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    /// Ends the current versions of `ended` (kind, id) at `revision` and starts `started` there,
    /// in two statements however many objects changed.
    pub async fn write_versions(
        &mut self,
        revision: i64,
        ended: &[(String, String)],
        started: &[StoredVersion],
    ) -> Result<(), StoreError> {
        let (kinds, ids): (Vec<String>, Vec<String>) = ended.iter().cloned().unzip();
        sqlx::query!(
            "UPDATE world_versions v SET until = $1 \
             FROM UNNEST($2::text[], $3::text[]) AS e(kind, id) \
             WHERE v.kind = e.kind AND v.id = e.id AND v.until IS NULL",
            revision,
            &kinds,
            &ids,
        )
        .execute(&mut *self.tx)
        .await?;
        let kinds: Vec<&str> = started.iter().map(|v| v.kind.as_str()).collect();
        let ids: Vec<&str> = started.iter().map(|v| v.id.as_str()).collect();
        let positions: Vec<i32> = started.iter().map(|v| v.position).collect();
        let docs: Vec<Value> = started.iter().map(|v| v.doc.clone()).collect();
        sqlx::query!(
            "INSERT INTO world_versions (kind, id, since, position, doc) \
             SELECT kind, id, $1, position, doc \
             FROM UNNEST($2::text[], $3::text[], $4::int[], $5::jsonb[]) AS s(kind, id, position, doc)",
            revision,
            &kinds as &[&str],
            &ids as &[&str],
            &positions,
            &docs,
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records revision `head + 1`, moves the head, and tells every replica (`event`), all in the
    /// one transaction that made the change. `world` is stored whole only for a revision the
    /// versions do not hold; `versions_from` is the first revision they hold.
    pub async fn commit(
        mut self,
        actor: &str,
        message: Option<&str>,
        changes: &Value,
        versions_from: i64,
        event: &EventData,
    ) -> Result<i64, StoreError> {
        let number = self.head + 1;
        sqlx::query!(
            "INSERT INTO world_revisions (number, actor, message, changes) VALUES ($1, $2, $3, $4)",
            number,
            actor,
            message,
            changes,
        )
        .execute(&mut *self.tx)
        .await?;
        sqlx::query!(
            "UPDATE world_head SET revision = $1, versions_since = $2 WHERE only_row",
            number,
            versions_from
        )
        .execute(&mut *self.tx)
        .await?;
        super::events::append_in(&mut self.tx, "world", event).await?;
        self.tx.commit().await?;
        Ok(number)
    }
}
