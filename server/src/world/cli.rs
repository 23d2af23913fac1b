//! `vigil world …`: the world from a terminal or a CI job, against the same database the
//! servers use, through the same write path as the browser and the API.

use std::{path::Path, process::ExitCode};

use anyhow::Context;

use super::{
    apply::{self, Edit, WorldError},
    plan, Actor, World,
};
use crate::{
    cli::{ImportSource, WorldAction, WorldFormat},
    config::Config,
    db::Database,
    http::api::world::{restore_revision, wanted},
};

/// Exit code of `plan` when there are changes (`terraform plan -detailed-exitcode` does the same).
const CHANGES: u8 = 2;

pub async fn run(config: &Config, action: WorldAction) -> anyhow::Result<ExitCode> {
    // Read the file before opening the database: a bad file is said at once.
    let file = match &action {
        WorldAction::Plan { file, .. } | WorldAction::Apply { file, .. } => Some(read(file)?),
        _ => None,
    };
    super::seal::install(super::seal::Sealer::configured(&config.world)?);
    let db = Database::open(&config.database).await?;
    db.migrate().await?;
    let result = act(&db.pool, config, action, file).await;
    db.close().await?;
    result
}

fn who() -> Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor::Cli(format!("cli {user}"))
}

async fn act(
    pool: &sqlx::PgPool,
    config: &Config,
    action: WorldAction,
    file: Option<World>,
) -> anyhow::Result<ExitCode> {
    match action {
        WorldAction::Export { format } => {
            let current = super::apply::stored(pool).await?;
            let head = current.head;
            let world = plan::without_secrets(&current.world).sorted();
            match format {
                WorldFormat::Toml => {
                    println!("# Vigil world, revision {head}. Secrets show as \"(secret)\"; applying this keeps them.");
                    print!("{}", toml::to_string_pretty(&world)?);
                }
                WorldFormat::Yaml => {
                    println!("# Vigil world, revision {head}. Secrets show as \"(secret)\"; applying this keeps them.");
                    print!("{}", serde_norway::to_string(&world)?);
                }
                WorldFormat::Json => println!("{}", serde_json::to_string_pretty(&world)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        WorldAction::Plan { prune, .. } => {
            let given = file.expect("read above");
            let mut edit = Edit::by(who());
            edit.dry_run = true;
            match apply::change(pool, &config.probes, edit, |current, w| {
                *w = wanted(&current.world, given, prune);
                Ok(())
            })
            .await
            {
                Ok(a) => {
                    println!("Against revision {}:", a.revision);
                    print!("{}", a.plan.to_text());
                    Ok(if a.plan.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(CHANGES)
                    })
                }
                Err(e) => refused(e),
            }
        }
        WorldAction::Apply {
            prune,
            expect_revision,
            message,
            ..
        } => {
            let given = file.expect("read above");
            let mut edit = Edit::by(who());
            edit.expect_revision = expect_revision;
            edit.message = message;
            match apply::change(pool, &config.probes, edit, |current, w| {
                *w = wanted(&current.world, given, prune);
                Ok(())
            })
            .await
            {
                Ok(a) => {
                    print!("{}", a.plan.to_text());
                    if a.revised {
                        println!("Applied as revision {}.", a.revision);
                    } else {
                        println!(
                            "Nothing to apply; the world stays at revision {}.",
                            a.revision
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        WorldAction::History { limit } => {
            for r in vigil_core::store::world::revisions(pool, limit.clamp(1, 1000)).await? {
                let changes: plan::Plan = serde_json::from_value(r.changes).unwrap_or_default();
                let (created, changed, removed) = changes.counts();
                println!(
                    "{:>5}  {}  {}  +{created} ~{changed} -{removed}{}",
                    r.number,
                    r.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    r.actor,
                    r.message.map(|m| format!("  {m}")).unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        WorldAction::Restore { revision } => {
            match restore_revision(pool, &config.probes, who(), revision).await {
                Ok(outcome) => {
                    print!("{}", outcome.text);
                    println!(
                        "Restored revision {revision} as revision {}.",
                        outcome.revision
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => anyhow::bail!("{e}"),
            }
        }
    }
}

/// `vigil import …`: the plan and what is not imported; applied with `--apply`.
pub async fn import(config: &Config, source: ImportSource) -> anyhow::Result<ExitCode> {
    super::seal::install(super::seal::Sealer::configured(&config.world)?);
    if let ImportSource::Statuspage { url, apply } = &source {
        return import_statuspage(config, url, *apply).await;
    }
    let (tool, file, apply) = match &source {
        ImportSource::Gatus { file, apply } => ("gatus", file, *apply),
        ImportSource::UptimeKuma { file, apply } => ("uptime-kuma", file, *apply),
        ImportSource::Statuspage { .. } => unreachable!("above"),
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let imported = match source {
        ImportSource::Gatus { .. } => super::import::gatus(&text),
        ImportSource::UptimeKuma { .. } => super::import::uptime_kuma(&text),
        ImportSource::Statuspage { .. } => unreachable!("above"),
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let db = Database::open(&config.database).await?;
    db.migrate().await?;
    let result = import_into(&db.pool, config, tool, file, imported, apply).await;
    db.close().await?;
    result
}

async fn import_into(
    pool: &sqlx::PgPool,
    config: &Config,
    tool: &str,
    file: &Path,
    imported: super::import::Imported,
    apply: bool,
) -> anyhow::Result<ExitCode> {
    let mut edit = Edit::by(Actor::Cli(format!("import {tool} {}", file.display())));
    edit.dry_run = !apply;
    edit.message = Some(format!("imported from {tool}"));
    let mut secrets = Vec::new();
    let mut not_imported = Vec::new();
    let outcome = apply::change(pool, &config.probes, edit, |current, w| {
        let imported = imported.beside(&current.world);
        secrets = imported.new_secrets;
        not_imported = imported.not_imported;
        *w = wanted(&current.world, imported.world, false);
        Ok(())
    })
    .await;
    if !not_imported.is_empty() {
        println!(
            "Not imported, or imported differently ({}):",
            not_imported.len()
        );
        for line in &not_imported {
            println!("  - {line}");
        }
    }
    let applied = match outcome {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    print!("{}", applied.plan.to_text());
    if !apply {
        println!("Nothing was written; run again with --apply to import.");
        return Ok(if applied.plan.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(CHANGES)
        });
    }
    if applied.revised {
        println!("Imported as revision {}.", applied.revision);
    }
    if !secrets.is_empty() {
        println!("New heartbeat URLs (shown once; point each job at its URL):");
        for (name, secret) in secrets {
            println!(
                "  {name}: {}/heartbeat/{secret}",
                config.server.public_url.trim_end_matches('/')
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vigil import statuspage URL`: the page's components through the world's write path, then
/// its past incidents.
async fn import_statuspage(config: &Config, url: &str, apply: bool) -> anyhow::Result<ExitCode> {
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("Vigil-import/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let fetch = |path: &'static str| {
        let (client, url) = (client.clone(), format!("{base}/api/v2/{path}"));
        async move {
            let resp = client
                .get(&url)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{url}: {}", crate::redact::transport_error(&e)))?
                .error_for_status()
                .with_context(|| url.clone())?;
            crate::capped::json::<serde_json::Value>(resp, 32 << 20)
                .await
                .with_context(|| format!("{url} is not Statuspage's JSON"))
        }
    };
    let components = fetch("components.json").await?;
    let incidents = fetch("incidents.json").await?;
    let db = Database::open(&config.database).await?;
    db.migrate().await?;
    let result = statuspage_into(&db.pool, config, base, &components, &incidents, apply).await;
    db.close().await?;
    result
}

async fn statuspage_into(
    pool: &sqlx::PgPool,
    config: &Config,
    base: &str,
    components: &serde_json::Value,
    incidents: &serde_json::Value,
    apply: bool,
) -> anyhow::Result<ExitCode> {
    let by = format!("import statuspage {base}");
    let mut edit = Edit::by(Actor::Cli(by.clone()));
    edit.dry_run = !apply;
    edit.message = Some("imported from Statuspage".into());
    let mut history = Vec::new();
    let mut not_imported = Vec::new();
    let mut problem = None;
    let outcome = apply::change(pool, &config.probes, edit, |current, w| {
        match super::import::statuspage(components, incidents, &current.world) {
            Ok((imported, found)) => {
                history = found;
                not_imported = imported.not_imported;
                *w = wanted(&current.world, imported.world, false);
            }
            Err(e) => problem = Some(e),
        }
        Ok(())
    })
    .await;
    if let Some(e) = problem {
        anyhow::bail!("{base}: {e}");
    }
    if !not_imported.is_empty() {
        println!("Not imported ({}):", not_imported.len());
        for line in &not_imported {
            println!("  - {line}");
        }
    }
    let applied = match outcome {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    print!("{}", applied.plan.to_text());
    println!(
        "{} past incidents with {} updates.",
        history.len(),
        history.iter().map(|h| h.updates.len()).sum::<usize>()
    );
    if !apply {
        println!("Nothing was written; run again with --apply to import.");
        return Ok(ExitCode::from(CHANGES));
    }
    let added = vigil_core::store::imports::import_incidents(pool, &history, &by).await?;
    println!(
        "Imported {added} incidents ({} were imported before).",
        history.len() as u32 - added
    );
    Ok(ExitCode::SUCCESS)
}

/// Every problem, one per line; exit code 1.
fn refused(e: WorldError) -> anyhow::Result<ExitCode> {
    match e {
        WorldError::Invalid(problems) | WorldError::Managed(problems) => {
            eprintln!(
                "error: {} problem{}:",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in problems {
                eprintln!("  {}: {}", p.key, p.message);
            }
            Ok(ExitCode::FAILURE)
        }
        WorldError::Store(e) => Err(e.into()),
        other => {
            eprintln!("error: {other}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A world file: TOML (a world alone or a whole vigil.toml, whose other sections are ignored
/// here) or JSON (by the `.json` extension).
pub fn read(path: &Path) -> anyhow::Result<World> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => WorldFormat::Json,
        Some("yaml" | "yml") => WorldFormat::Yaml,
        _ => WorldFormat::Toml,
    };
    parse(&text, format).with_context(|| format!("{} is not a world file", path.display()))
}

pub fn parse(text: &str, format: WorldFormat) -> anyhow::Result<World> {
    let value: serde_json::Value = if let WorldFormat::Json = format {
        serde_json::from_str(text)?
    } else if let WorldFormat::Yaml = format {
        serde_norway::from_str(text)?
    } else {
        let table: toml::Table = toml::from_str(text)?;
        let mut world = toml::Table::new();
        for key in super::WORLD_KEYS {
            if let Some(v) = table.get(key) {
                world.insert(key.into(), v.clone());
            }
        }
        // A whole vigil.toml names two of them otherwise: `[[resources.alert]]` and
        // `[status_page]`; and a `[linode]` there that is not enabled is no source.
        if let Some(alerts) = table.get("resources").and_then(|r| r.get("alert")) {
            world.insert("alert".into(), alerts.clone());
        }
        if let Some(title) = table.get("status_page").and_then(|p| p.get("title")) {
            let mut page = toml::Table::new();
            page.insert("title".into(), title.clone());
            world.entry("page").or_insert(toml::Value::Table(page));
        }
        let enabled = world
            .get("linode")
            .and_then(|l| l.get("enabled"))
            .and_then(toml::Value::as_bool);
        if enabled != Some(true) {
            world.remove("linode");
        }
        serde_json::to_value(world)?
    };
    // Only the world's own keys: `revision` (in an export's JSON) is not part of it.
    let value = match value {
        serde_json::Value::Object(mut map) => {
            map.retain(|k, _| super::WORLD_KEYS.contains(&k.as_str()));
            serde_json::Value::Object(map)
        }
        other => other,
    };
    serde_path_to_error::deserialize(value)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.path(), e.inner()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_whole_configuration_file_reads_as_its_world() {
        let text = "[server]\naddr = \"127.0.0.1:1\"\n[[component]]\nid = \"site\"\nname = \"Site\"\n[[monitor]]\nname = \"home\"\ncomponent = \"site\"\nkind = \"tcp\"\nhost = \"a\"\nport = 1\n";
        let w = super::parse(text, super::WorldFormat::Toml).unwrap();
        assert_eq!(w.components.len(), 1);
        assert_eq!(w.monitors[0].port, Some(1));
        // Its sources, channels, alert rules and title are the world's too.
        let text = format!(
            "{text}[status_page]\ntitle = \"Example\"\n[linode]\nnodebalancers = [1]\n\
             [[resources.alert]]\nmetric = \"cpu\"\nabove = 0.8\n\
             [[node_exporter]]\nnode = \"n1\"\nurl = \"http://127.0.0.1:9100/metrics\"\n"
        );
        let w = super::parse(&text, super::WorldFormat::Toml).unwrap();
        assert_eq!(w.page.as_ref().unwrap().title, "Example");
        assert_eq!(w.alerts[0].metric, "cpu");
        assert_eq!(w.node_exporters[0].node, "n1");
        assert!(w.linode.is_none(), "a [linode] not enabled is no source");
        let err = super::parse(
            "[[monitor]]\nname = \"x\"\ncomponent = \"s\"\nkind = \"tcp\"\nprot = 1\n",
            super::WorldFormat::Toml,
        )
        .unwrap_err();
        assert!(format!("{err}").contains("prot"), "{err}");
        // What `export --format yaml` writes reads back.
        let yaml = serde_norway::to_string(&w).unwrap();
        assert_eq!(super::parse(&yaml, super::WorldFormat::Yaml).unwrap(), w);
    }
}
