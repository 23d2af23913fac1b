//! What the world was after each revision, kept as versions of its objects: a change writes the
//! documents of what it changed, not the whole world again (3 MB per change for ten thousand
//! monitors, whatever the change), and restore rebuilds a revision's world from the versions
//! alive at it. Documents are as the history shows them: secrets hidden.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use vigil_core::store::world::StoredVersion;

use super::{
    objects::{ObjectKind, Setting},
    plan::{self, Op, Plan},
    World,
};

/// Every object of `world`, as the first revision that keeps versions writes them.
pub fn versions(world: &World) -> Vec<StoredVersion> {
    let mut out = small(world);
    out.extend(world.monitors.iter().map(monitor));
    out
}

/// What a revision from `old` to `new` (planned as `plan`) writes: the objects whose current
/// version ends, and the versions that start. Components and settings (a few) are compared
/// whole, so a move is a new version too; monitors (thousands) are the ones the plan names.
pub fn changed(
    old: &World,
    new: &World,
    plan: &Plan,
) -> (Vec<(String, String)>, Vec<StoredVersion>) {
    let before = small(old);
    let after = small(new);
    let key = |v: &StoredVersion| (v.kind.clone(), v.id.clone());
    let was: HashMap<(String, String), &StoredVersion> =
        before.iter().map(|v| (key(v), v)).collect();
    let is: HashSet<(String, String)> = after.iter().map(key).collect();
    let mut ended: Vec<(String, String)> = before
        .iter()
        .filter(|v| !is.contains(&key(v)))
        .map(key)
        .collect();
    let mut started = Vec::new();
    for v in after {
        match was.get(&key(&v)) {
            Some(w) if **w == v => {}
            Some(_) => {
                ended.push(key(&v));
                started.push(v);
            }
            None => started.push(v),
        }
    }
    let monitors: HashMap<&str, Op> = plan
        .changes
        .iter()
        .filter(|c| c.object == ObjectKind::Monitor)
        .map(|c| (c.id.as_str(), c.op))
        .collect();
    for (name, op) in &monitors {
        if *op != Op::Create {
            ended.push((ObjectKind::Monitor.name().into(), name.to_string()));
        }
    }
    if !monitors.is_empty() {
        started.extend(
            new.monitors
                .iter()
                .filter(|m| matches!(monitors.get(m.name.as_str()), Some(Op::Create | Op::Update)))
                .map(monitor),
        );
    }
    (ended, started)
}

/// The world these versions make (as [`vigil_core::store::world::world_at`] reads them: by
/// kind, then in order).
pub fn world_of(versions: Vec<StoredVersion>) -> Result<World, String> {
    let mut world = World::default();
    let mut settings = Vec::new();
    for v in versions {
        let what = format!("{} `{}`", v.kind, v.id);
        let bad = |e: serde_json::Error| format!("{what} does not read: {e}");
        match ObjectKind::parse(&v.kind) {
            Some(ObjectKind::Component) => world
                .components
                .push(serde_json::from_value(v.doc).map_err(bad)?),
            Some(ObjectKind::Monitor) => world
                .monitors
                .push(serde_json::from_value(v.doc).map_err(bad)?),
            Some(kind) => settings.push(Setting {
                kind,
                id: v.id,
                doc: v.doc,
            }),
            None => return Err(format!("{what}: unknown kind")),
        }
    }
    world.set_settings(settings).map_err(|problems| {
        problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(world)
}

/// The components and settings, secrets hidden, each in its place (settings counted per kind).
/// The monitors are not copied for this.
fn small(world: &World) -> Vec<StoredVersion> {
    let mut shell = World {
        components: world.components.clone(),
        ..Default::default()
    };
    // The world's own settings always read back.
    let _ = shell.set_settings(world.settings());
    plan::hide_setting_secrets(&mut shell);
    let mut out: Vec<StoredVersion> = shell
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| version(ObjectKind::Component, c.id.clone(), i, to_value(c)))
        .collect();
    let mut positions: HashMap<ObjectKind, usize> = HashMap::new();
    for s in shell.settings() {
        let position = positions.entry(s.kind).or_default();
        out.push(version(s.kind, s.id, *position, s.doc));
        *position += 1;
    }
    out
}

fn monitor(m: &crate::config::monitors::MonitorConfig) -> StoredVersion {
    let mut m = m.clone();
    plan::hide_monitor_secrets(&mut m);
    version(ObjectKind::Monitor, m.name.clone(), 0, to_value(&m))
}

fn version(kind: ObjectKind, id: String, position: usize, doc: Value) -> StoredVersion {
    StoredVersion {
        kind: kind.name().into(),
        id,
        position: position as i32,
        doc,
    }
}

fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("the world's objects serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(toml: &str) -> World {
        toml::from_str(toml).expect("a world")
    }

    /// Replays versions the way the store keeps them: the world at each revision is what the
    /// versions alive at it make.
    #[derive(Default)]
    struct Store {
        rows: Vec<(StoredVersion, i64, Option<i64>)>,
    }

    impl Store {
        fn write(
            &mut self,
            revision: i64,
            ended: &[(String, String)],
            started: Vec<StoredVersion>,
        ) {
            for (v, _, until) in &mut self.rows {
                if until.is_none() && ended.contains(&(v.kind.clone(), v.id.clone())) {
                    *until = Some(revision);
                }
            }
            self.rows
                .extend(started.into_iter().map(|v| (v, revision, None)));
        }

        fn at(&self, revision: i64) -> World {
            let mut alive: Vec<StoredVersion> = self
                .rows
                .iter()
                .filter(|(_, since, until)| {
                    *since <= revision && until.is_none_or(|u| u > revision)
                })
                .map(|(v, _, _)| v.clone())
                .collect();
            alive.sort_by(|a, b| (&a.kind, a.position, &a.id).cmp(&(&b.kind, b.position, &b.id)));
            world_of(alive).expect("versions read back")
        }
    }

    const ONE: &str = r#"
        [[component]]
        id = "site"
        name = "Site"
        [[component]]
        id = "api"
        name = "API"
        [[monitor]]
        name = "site-http"
        component = "site"
        kind = "http"
        url = "https://example.com/"
        [[monitor]]
        name = "api-beat"
        component = "api"
        kind = "heartbeat"
        secret = "s3cret-s3cret-s3cret"
        [[notify]]
        name = "ops"
        kind = "discord"
        url = "https://discord.example/api/webhooks/1/abc"
        [[prometheus]]
        name = "main"
        url = "http://user:pw@prometheus:9090"
        [page]
        title = "Example Status"
    "#;

    #[test]
    fn every_revisions_world_is_rebuilt_from_the_versions_alive_at_it() {
        let one = world(ONE);
        // Moved, changed, added and removed: the API first, the site's monitor changed, a new
        // monitor and channel, the heartbeat and the Prometheus gone, the page reworded.
        let mut two = world(ONE);
        two.components.reverse();
        two.monitors[0].url = Some("https://example.com/health".into());
        two.monitors.remove(1);
        two.monitors.push(world(
            "[[monitor]]\nname = \"api-tcp\"\ncomponent = \"api\"\nkind = \"tcp\"\nhost = \"api.example.com\"\nport = 443\n",
        ).monitors.remove(0));
        two.prometheus.clear();
        two.notify.push(world("[[notify]]\nname = \"pager\"\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\n").notify.remove(0));
        two.page.as_mut().unwrap().title = "Example".into();
        let mut three = two.clone();
        three.components.retain(|c| c.id != "site");
        three.monitors.retain(|m| m.component != "site");

        let mut store = Store::default();
        store.write(1, &[], versions(&one));
        for (revision, (old, new)) in [(&one, &two), (&two, &three)].into_iter().enumerate() {
            let (ended, started) = changed(old, new, &Plan::between(old, new));
            store.write(revision as i64 + 2, &ended, started);
        }
        for (revision, expected) in [(1, &one), (2, &two), (3, &three)] {
            let mut got = store.at(revision);
            got.monitors.sort_by(|a, b| a.name.cmp(&b.name));
            let mut want = plan::without_secrets(expected);
            want.monitors.sort_by(|a, b| a.name.cmp(&b.name));
            assert_eq!(got, want, "the world after revision {revision}");
        }
    }

    #[test]
    fn a_change_writes_only_what_it_changed_and_never_a_secret() {
        let one = world(ONE);
        let mut two = world(ONE);
        two.monitors[1].secret = Some("another-secret-value".into());
        let (ended, started) = changed(&one, &two, &Plan::between(&one, &two));
        assert_eq!(ended, vec![("monitor".to_string(), "api-beat".to_string())]);
        assert_eq!(started.len(), 1);
        let text: String = versions(&two)
            .iter()
            .chain(&started)
            .map(|v| v.doc.to_string())
            .collect();
        for secret in ["another-secret", "s3cret", "/webhooks/1/abc", "user:pw"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let (ended, started) = changed(&two, &two, &Plan::between(&two, &two));
        assert!(
            ended.is_empty() && started.is_empty(),
            "nothing changed, nothing written"
        );
    }
}
