//! The one write path of the world. The browser's forms, the API, `vigil world apply`, the
//! importers, a restore and a managing configuration file all call [`change`] with what they
//! want done to the world as it is; it validates the whole result (every problem at once),
//! refuses what another source is authoritative for, and writes it as one revision in one
//! transaction — or, asked for a plan, writes nothing.

use std::collections::HashMap;

use vigil_core::{
    model::event::{EventData, WorldRevised},
    model::monitor::MonitorSpec,
    store::{
        world::{self as store, MonitorRow, StoredComponent, StoredSetting},
        StoreError,
    },
};

use super::{
    history, parsed,
    plan::{self, FieldChange, ObjectKind, Op, Plan, HIDDEN},
    Actor, World,
};
use crate::{
    config::{
        monitors::{self, MonitorConfig, ProbesConfig},
        problem::Problem,
    },
    workers::off_the_runtime,
};

/// Who changes the world, why, and on what condition.
pub struct Edit {
    pub actor: Actor,
    pub message: Option<String>,
    /// Refuse unless the world is still at this revision (`--expect-revision`).
    pub expect_revision: Option<i64>,
    /// Work out and validate the change, write nothing.
    pub dry_run: bool,
}

impl Edit {
    pub fn by(actor: Actor) -> Edit {
        Edit {
            actor,
            message: None,
            expect_revision: None,
            dry_run: false,
        }
    }
}

/// The world as the change found it, under the lock.
pub struct Current {
    pub world: World,
    pub head: i64,
    /// What declares each object, when a file does: `file /etc/vigil/vigil.toml`.
    pub managed: HashMap<(ObjectKind, String), String>,
    /// The revision that last changed each object: its ETag.
    pub revisions: HashMap<(ObjectKind, String), i64>,
    /// Each live monitor's database id.
    pub monitor_ids: HashMap<String, i64>,
}

impl Current {
    pub fn revision_of(&self, kind: ObjectKind, id: &str) -> Option<i64> {
        self.revisions.get(&(kind, id.to_string())).copied()
    }
}

/// What a change did (or, for a dry run, would do).
#[derive(Debug)]
pub struct Applied {
    /// The world's revision afterwards: the new one, or the head when nothing changed.
    pub revision: i64,
    /// False when the world already was what was asked (nothing written, no revision).
    pub revised: bool,
    pub plan: Plan,
    pub world: World,
    /// Each monitor's database id afterwards (not for a dry run's new monitors).
    pub monitor_ids: HashMap<String, i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// Everything wrong with the world asked for, each naming its object and field.
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
    /// Objects another source (a configuration file) is authoritative for.
    #[error("{}", list(.0))]
    Managed(Vec<Problem>),
    /// The live world moved on from the revision the caller started from.
    #[error(
        "the live world is at revision {head}, not {expected}: plan again from revision {head}"
    )]
    Moved { expected: i64, head: i64 },
    /// The object changed since the caller read it (`If-Match`); here it is as it is now.
    #[error("{kind} `{id}` changed since revision {expected}: it is at revision {revision} now; read it again and redo the change")]
    Stale {
        kind: &'static str,
        id: String,
        expected: i64,
        revision: i64,
        current: serde_json::Value,
    },
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads the world under the lock, lets `edit_world` change a copy of it, and writes the
/// difference as revision `head + 1` (nothing when there is none).
pub async fn change<F>(
    pool: &sqlx::PgPool,
    probes: &ProbesConfig,
    edit: Edit,
    edit_world: F,
) -> Result<Applied, WorldError>
where
    F: FnOnce(&Current, &mut World) -> Result<(), WorldError>,
{
    let mut tx = store::begin(pool).await?;
    if let Some(expected) = edit.expect_revision {
        if expected != tx.head {
            return Err(WorldError::Moved {
                expected,
                head: tx.head,
            });
        }
    }
    let stored_components = tx.components().await?;
    let heads = store::monitor_heads(tx.connection()).await?;
    let monitors = parsed::monitors(pool, tx.connection(), &heads).await?;
    let stored_settings = tx.settings().await?;
    let manages = edit.actor.manages();
    // Reading, editing, validating and diffing a large world is CPU work (tens of milliseconds
    // for ten thousand monitors): off the worker threads that run the probes' timers.
    let (current, wanted, mut problems, specs, mut plan, managed) = off_the_runtime(|| {
        let current = current_of(
            tx.head,
            &stored_components,
            &heads,
            monitors,
            &stored_settings,
        );
        let mut wanted = current.world.clone();
        edit_world(&current, &mut wanted)?;
        let mut problems = Vec::new();
        keep_hidden_secrets(&current.world, &mut wanted, &mut problems);
        let specs = match monitors::validate(
            &HashMap::new(),
            &wanted.components,
            &wanted.monitors,
            probes,
        ) {
            Ok(specs) => specs,
            Err(found) => {
                problems.extend(found);
                Vec::new()
            }
        };
        problems.extend(super::settings::validate(&wanted, probes.min_interval_secs));
        let plan = Plan::between(&current.world, &wanted);
        let mut managed = Vec::new();
        refuse_what_others_manage(&current, &plan, manages.as_deref(), &mut managed);
        Ok::<_, WorldError>((current, wanted, problems, specs, plan, managed))
    })?;
    for c in plan
        .changes
        .iter()
        .filter(|c| c.object == ObjectKind::Component && c.op == Op::Delete)
    {
        let members: Vec<String> = wanted
            .monitors
            .iter()
            .filter(|m| m.component == c.id)
            .map(|m| format!("`{}`", m.name))
            .collect();
        if !members.is_empty() {
            problems.push(Problem::new(
                format!("component `{}`", c.id),
                format!(
                    "monitors {} belong to it; delete them or move them to another component first",
                    members.join(", ")
                ),
            ));
        }
        let open = tx.open_incidents_of(&c.id).await?;
        if !open.is_empty() {
            problems.push(Problem::new(
                format!("component `{}`", c.id),
                format!(
                    "open incidents name it ({}); resolve them or take the component out of them first",
                    open.join(", ")
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(WorldError::Invalid(dedup(problems)));
    }
    if !managed.is_empty() {
        return Err(WorldError::Managed(managed));
    }
    mark_management(&current, &wanted, manages.as_deref(), &mut plan);
    if plan.is_empty() || edit.dry_run {
        return Ok(Applied {
            revision: current.head,
            revised: false,
            plan,
            world: wanted,
            monitor_ids: current.monitor_ids,
        });
    }

    let revision = current.head + 1;
    // The first revision writes every component: those older versions synced are retired below
    // unless written again.
    let first = current.head == 0;
    let written: std::collections::HashSet<(ObjectKind, &str)> = plan
        .changes
        .iter()
        .filter(|c| c.op != Op::Delete)
        .map(|c| (c.object, c.id.as_str()))
        .collect();
    let touched = |kind: ObjectKind, id: &str| {
        (first && kind == ObjectKind::Component) || written.contains(&(kind, id))
    };
    // Before the first revision the tables hold what older versions synced from the file:
    // whatever this world does not declare is retired, as those versions did at every start.
    if first {
        tx.retire_unrevised().await?;
    }
    let placed: HashMap<&str, usize> = current
        .world
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    for (position, c) in wanted.components.iter().enumerate() {
        if touched(ObjectKind::Component, &c.id) {
            let stored = StoredComponent {
                id: c.id.clone(),
                name: c.name.clone(),
                group: c.group.clone(),
                description: c.description.clone(),
                revision,
                managed_by: manager_after(
                    &current,
                    manages.as_deref(),
                    ObjectKind::Component,
                    &c.id,
                ),
            };
            tx.put_component(&stored, position as i32).await?;
        } else if placed.get(c.id.as_str()) != Some(&position) {
            tx.place_component(&c.id, position as i32).await?;
        }
    }
    let mut monitor_ids = current.monitor_ids.clone();
    for (m, spec) in wanted.monitors.iter().zip(&specs) {
        if !touched(ObjectKind::Monitor, &m.name) {
            continue;
        }
        let id = tx
            .put_monitor(
                &row(m, spec),
                revision,
                manager_after(&current, manages.as_deref(), ObjectKind::Monitor, &m.name)
                    .as_deref(),
            )
            .await?;
        monitor_ids.insert(m.name.clone(), id);
    }
    // Settings: each kind in its order; only what changed gets the new revision.
    let settings_placed: HashMap<(ObjectKind, String), i32> = {
        let mut positions: HashMap<ObjectKind, i32> = HashMap::new();
        current
            .world
            .settings()
            .into_iter()
            .map(|s| {
                let position = positions.entry(s.kind).or_default();
                *position += 1;
                ((s.kind, s.id), *position - 1)
            })
            .collect()
    };
    let mut positions: HashMap<ObjectKind, i32> = HashMap::new();
    for s in wanted.settings() {
        let position = positions.entry(s.kind).or_default();
        if touched(s.kind, &s.id) {
            let mut doc = s.doc;
            super::seal::sealer().seal_setting(s.kind, &mut doc);
            let stored = StoredSetting {
                kind: s.kind.name().to_string(),
                managed_by: manager_after(&current, manages.as_deref(), s.kind, &s.id),
                id: s.id,
                doc,
                revision,
            };
            tx.put_setting(&stored, *position).await?;
        } else if settings_placed.get(&(s.kind, s.id.clone())) != Some(position) {
            tx.place_setting(s.kind.name(), &s.id, *position).await?;
        }
        *position += 1;
    }
    for c in plan.changes.iter().filter(|c| c.op == Op::Delete) {
        match c.object {
            ObjectKind::Monitor => {
                tx.retire_monitor(&c.id, revision).await?;
                monitor_ids.remove(&c.id);
            }
            ObjectKind::Component => tx.retire_component(&c.id, revision).await?,
            kind => tx.retire_setting(kind.name(), &c.id, revision).await?,
        }
    }
    // The history: the versions of what changed (every object, the first time).
    let versions_from = tx.versions_since().await?;
    let (ended, started) = off_the_runtime(|| match versions_from {
        Some(_) => history::changed(&current.world, &wanted, &plan),
        None => (Vec::new(), history::versions(&wanted)),
    });
    tx.write_versions(revision, &ended, &started).await?;
    let (created, changed, removed) = plan.counts();
    let actor = edit.actor.to_string();
    let changes = serde_json::to_value(&plan).expect("plans serialise");
    let number = tx
        .commit(
            &actor,
            edit.message.as_deref(),
            &changes,
            versions_from.unwrap_or(revision),
            &EventData::WorldRevised(WorldRevised {
                revision,
                actor: actor.clone(),
                created,
                changed,
                removed,
            }),
        )
        .await?;
    tracing::info!(revision = number, %actor, created, changed, removed, "world revised");
    Ok(Applied {
        revision: number,
        revised: true,
        plan,
        world: wanted,
        monitor_ids,
    })
}

/// The world as stored now, read outside any change (a change reads it under the lock).
pub async fn stored(pool: &sqlx::PgPool) -> Result<Current, StoreError> {
    // One snapshot: the head and the objects agree.
    let mut tx = pool.begin().await?;
    store::read_only_snapshot(&mut tx).await?;
    let head = store::head(&mut *tx).await?;
    let components = store::components(&mut *tx).await?;
    let heads = store::monitor_heads(&mut *tx).await?;
    let monitors = parsed::monitors(pool, &mut tx, &heads).await?;
    let settings = store::settings(&mut *tx).await?;
    tx.commit().await?;
    Ok(current_of(head, &components, &heads, monitors, &settings))
}

/// The world as stored, with what manages each object and its revision (`monitors`: each live
/// one's document as read, by id).
fn current_of(
    head: i64,
    components: &[StoredComponent],
    heads: &[store::MonitorHead],
    mut monitors: HashMap<i64, Option<MonitorConfig>>,
    settings: &[StoredSetting],
) -> Current {
    let mut managed = HashMap::new();
    let mut revisions = HashMap::new();
    for c in components {
        let key = (ObjectKind::Component, c.id.clone());
        if let Some(by) = &c.managed_by {
            managed.insert(key.clone(), by.clone());
        }
        revisions.insert(key, c.revision);
    }
    for m in heads {
        let key = (ObjectKind::Monitor, m.name.clone());
        if let Some(by) = &m.managed_by {
            managed.insert(key.clone(), by.clone());
        }
        revisions.insert(key, m.revision);
    }
    for s in settings {
        let Some(kind) = ObjectKind::parse(&s.kind) else {
            continue;
        };
        let key = (kind, s.id.clone());
        if let Some(by) = &s.managed_by {
            managed.insert(key.clone(), by.clone());
        }
        revisions.insert(key, s.revision);
    }
    Current {
        world: World::from_stored(
            components,
            heads
                .iter()
                .filter_map(|h| monitors.remove(&h.id).flatten())
                .collect(),
            settings,
        ),
        head,
        managed,
        revisions,
        monitor_ids: heads.iter().map(|m| (m.name.clone(), m.id)).collect(),
    }
}

/// A secret given as [`HIDDEN`] (an export applied back, a form left blank) keeps the value the
/// monitor has; a new monitor has none to keep, and says so.
fn keep_hidden_secrets(current: &World, wanted: &mut World, problems: &mut Vec<Problem>) {
    let by_name: HashMap<&str, &crate::config::monitors::MonitorConfig> = current
        .monitors
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    for m in &mut wanted.monitors {
        let before = by_name.get(m.name.as_str()).copied();
        if m.secret.as_deref() == Some(HIDDEN) {
            match before.and_then(|b| b.secret.clone()) {
                Some(kept) => m.secret = Some(kept),
                None => problems.push(Problem::new(
                    format!("monitor `{}`: secret", m.name),
                    "the export hides secrets; give this new monitor its own",
                )),
            }
        }
        for (name, value) in m.headers.iter_mut() {
            if value != HIDDEN {
                continue;
            }
            match before.and_then(|b| b.headers.get(name)) {
                Some(kept) if kept != HIDDEN => *value = kept.clone(),
                _ => problems.push(Problem::new(
                    format!("monitor `{}`: headers.{name}", m.name),
                    "the export hides credentials; give this header its value",
                )),
            }
        }
    }
    // A source's URL given as shown (its credentials cut) keeps the URL it has.
    let keep = |given: &mut String, before: Option<&String>| {
        if let Some(before) = before {
            if given != before && *given == plan::shown_url(before) {
                *given = before.clone();
            }
        }
    };
    // The settings alone: the world's ten thousand monitors are not copied for this.
    let before: HashMap<String, String> = {
        let mut settings = World::default();
        let _ = settings.set_settings(current.settings());
        settings
            .source_urls_mut()
            .into_iter()
            .map(|(id, url)| (id, url.clone()))
            .collect()
    };
    for (id, url) in wanted.source_urls_mut() {
        keep(url, before.get(&id));
    }
    for c in &mut wanted.notify {
        if c.url.as_deref() != Some(HIDDEN) {
            continue;
        }
        match current
            .notify
            .iter()
            .find(|o| o.name == c.name)
            .and_then(|o| o.url.clone())
        {
            Some(kept) => c.url = Some(kept),
            None => problems.push(Problem::new(
                format!("channel `{}`: url", c.name),
                "the export hides webhook URLs; give this new channel its own (or url_env)",
            )),
        }
    }
}

/// An object a configuration file declares is changed only by that file.
fn refuse_what_others_manage(
    current: &Current,
    plan: &Plan,
    manages: Option<&str>,
    problems: &mut Vec<Problem>,
) {
    for c in &plan.changes {
        let Some(by) = current.managed.get(&(c.object, c.id.clone())) else {
            continue;
        };
        if Some(by.as_str()) == manages {
            continue;
        }
        let kind = c.object.name();
        let message = match by.strip_prefix("file ") {
            Some(path) => format!("managed by {path}: change it there (it is re-applied when the file changes or on SIGHUP)"),
            None => format!("managed by {by} (discovered from its annotations): change the annotations there"),
        };
        problems.push(Problem::new(format!("{kind} `{}`", c.id), message));
    }
}

/// Who manages an object after this change: a managing file takes over what it declares; any
/// other writer leaves the mark as it was.
fn manager_after(
    current: &Current,
    manages: Option<&str>,
    kind: ObjectKind,
    id: &str,
) -> Option<String> {
    manages
        .map(str::to_string)
        .or_else(|| current.managed.get(&(kind, id.to_string())).cloned())
}

/// A managing file taking over an object it declares, unchanged otherwise, is a change too: the
/// history says from when the file decides.
fn mark_management(current: &Current, wanted: &World, manages: Option<&str>, plan: &mut Plan) {
    let Some(by) = manages else { return };
    let ids = wanted
        .components
        .iter()
        .map(|c| (ObjectKind::Component, c.id.clone()))
        .chain(
            wanted
                .monitors
                .iter()
                .map(|m| (ObjectKind::Monitor, m.name.clone())),
        )
        .chain(wanted.settings().into_iter().map(|s| (s.kind, s.id)));
    for (kind, id) in ids {
        // Only what nobody managed is taken over: the same file read from another path (a
        // second replica) changes nothing, and another file's objects were refused above.
        let before = current.managed.get(&(kind, id.clone()));
        if before.is_some() || current.revision_of(kind, &id).is_none() {
            continue;
        }
        let field = FieldChange {
            field: "managed_by".into(),
            before: before.map(|b| b.clone().into()),
            after: Some(by.into()),
        };
        match plan
            .changes
            .iter_mut()
            .find(|c| c.object == kind && c.id == id)
        {
            Some(change) => change.fields.push(field),
            None => plan.changes.push(plan::Change {
                object: kind,
                id,
                op: Op::Update,
                fields: vec![field],
            }),
        }
    }
}

/// A monitor as stored: its secrets sealed in both forms.
fn row<'a>(m: &'a crate::config::monitors::MonitorConfig, spec: &MonitorSpec) -> MonitorRow<'a> {
    let sealer = super::seal::sealer();
    let mut spec_value = serde_json::to_value(spec).expect("specs serialise");
    sealer.seal_spec(&mut spec_value);
    let mut doc = serde_json::to_value(m).expect("monitors serialise");
    sealer.seal_doc(&mut doc);
    MonitorRow {
        name: &m.name,
        component: &m.component,
        kind: spec.check.kind(),
        spec: spec_value,
        doc,
        interval_secs: spec.interval.as_secs() as i32,
    }
}

/// The same problem found twice (a duplicate name is also a duplicate spec) is said once.
fn dedup(problems: Vec<Problem>) -> Vec<Problem> {
    let mut seen = std::collections::HashSet::new();
    problems
        .into_iter()
        .filter(|p| seen.insert((p.key.clone(), p.message.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_world_applied_back_keeps_source_credentials_and_webhook_urls() {
        let mut current = World::default();
        current
            .put_setting(
                ObjectKind::Source,
                serde_json::json!({"kind": "prometheus", "name": "main",
                                   "url": "https://scraper:pr0m@prom.example/?token=q"}),
            )
            .unwrap();
        current
            .put_setting(
                ObjectKind::Channel,
                serde_json::json!({"name": "ops", "kind": "webhook",
                                   "url": "https://hooks.example/T0K3N"}),
            )
            .unwrap();
        let shown = plan::without_secrets(&current);
        let text = serde_json::to_string(&shown).unwrap();
        assert!(
            !text.contains("pr0m") && !text.contains("token=q") && !text.contains("T0K3N"),
            "{text}"
        );
        let mut wanted = shown.clone();
        let mut problems = Vec::new();
        keep_hidden_secrets(&current, &mut wanted, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(wanted, current, "applying what was shown changes nothing");
        // A URL really changed is taken as given.
        let mut moved = shown;
        moved.prometheus[0].url = "https://prom2.example/".into();
        keep_hidden_secrets(&current, &mut moved, &mut problems);
        assert_eq!(moved.prometheus[0].url, "https://prom2.example/");
    }
}
