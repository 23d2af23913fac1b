//! Polls the configured NodeBalancers, folds each backend's status into its history (flap
//! detection), and writes states, changes and events: `lb.backend` for every change, `lb.flapping`
//! when a backend starts or stops flapping, `lb.ingress` when a port has no steady backend left.

use std::{collections::HashMap, time::Duration};

use chrono::Utc;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::{
        backend::{ingress_broken, BackendHistory, BackendStatus, FlapRule},
        event::{BackendChanged, BackendFlapping, EventData, IngressChanged},
        lb_config::classify,
    },
    store::{
        backends::{self, Backend, Change, NewEvent},
        lb_configs,
    },
};

use super::client::{LinodeClient, LinodeError};

pub struct Poller {
    pub client: LinodeClient,
    pub pool: PgPool,
    pub rule: FlapRule,
    pub interval: Duration,
    /// Only these NodeBalancers; all when empty.
    pub only: Vec<u64>,
    /// Connection stats are fetched this often (Linode limits `/stats` harder).
    pub stats_every: Duration,
    stats_at: Option<std::time::Instant>,
    histories: HashMap<(i64, i64), BackendHistory>,
    broken: HashMap<i64, bool>,
    /// Each port's newest configuration reading (loaded from the history on the first poll).
    configs: Option<HashMap<i64, lb_configs::Latest>>,
    /// Each balancer's label and addresses as last stored, so an unchanged one costs no write.
    addresses: HashMap<u64, (String, Option<String>, Vec<String>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Linode(#[from] LinodeError),
    #[error(transparent)]
    Store(#[from] vigil_core::store::StoreError),
}

impl Poller {
    pub fn new(
        client: LinodeClient,
        pool: PgPool,
        rule: FlapRule,
        interval: Duration,
        only: Vec<u64>,
    ) -> Self {
        Poller {
            addresses: HashMap::new(),
            client,
            pool,
            rule,
            interval,
            only,
            stats_every: Duration::from_secs(300),
            stats_at: None,
            histories: HashMap::new(),
            broken: HashMap::new(),
            configs: None,
        }
    }

    /// Restores histories from the database so a restart does not forget recent flapping.
    pub async fn restore(&mut self) -> Result<(), PollError> {
        let mut changes: HashMap<(i64, i64), Vec<chrono::DateTime<Utc>>> = HashMap::new();
        for (config, node, at) in
            backends::changes_since(&self.pool, Utc::now() - self.rule.window).await?
        {
            changes.entry((config, node)).or_default().push(at);
        }
        let mut ports: HashMap<i64, Vec<(BackendStatus, bool)>> = HashMap::new();
        for b in backends::all(&self.pool).await? {
            let key = (b.config_id, b.node_id);
            ports
                .entry(b.config_id)
                .or_default()
                .push((BackendStatus::parse(&b.status), b.flapping));
            let history = BackendHistory::restore(
                BackendStatus::parse(&b.status),
                b.since,
                b.flapping,
                changes.remove(&key).unwrap_or_default(),
            );
            self.histories.insert(key, history);
        }
        // An alert raised before the restart is cleared by the next poll that finds a steady backend.
        for (config, view) in ports {
            self.broken.insert(config, ingress_broken(&view));
        }
        Ok(())
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        if let Err(e) = self.restore().await {
            tracing::warn!(error = %e, "could not restore load-balancer history");
        }
        let mut every = crate::workers::ticker(self.interval);
        while crate::workers::next_tick(&mut every, &shutdown).await {
            let outcome = match self.poll_once().await {
                Ok(n) => {
                    metrics::gauge!("lb_backends").set(n as f64);
                    Ok(())
                }
                Err(e) => {
                    metrics::counter!("lb_poll_errors_total").increment(1);
                    tracing::warn!(error = %e, "NodeBalancer poll failed");
                    Err(e.to_string())
                }
            };
            crate::sources::registry::report(&self.pool, crate::sources::registry::LINODE, outcome)
                .await;
        }
    }

    /// One poll of every NodeBalancer; returns how many backends were seen.
    pub async fn poll_once(&mut self) -> Result<usize, PollError> {
        let now = Utc::now();
        let mut rows = Vec::new();
        let mut changes = Vec::new();
        let mut new_events = Vec::new();
        let stats_due = self
            .stats_at
            .is_none_or(|t| t.elapsed() >= self.stats_every);
        if self.configs.is_none() {
            self.configs = Some(lb_configs::latest(&self.pool).await?);
        }
        let mut readings = Vec::new();
        for nb in self.client.nodebalancers().await? {
            if !self.only.is_empty() && !self.only.contains(&nb.id) {
                continue;
            }
            let seen = (nb.label.clone(), nb.hostname.clone(), nb.addresses());
            if self.addresses.get(&nb.id) != Some(&seen) {
                backends::record_nodebalancer(
                    &self.pool,
                    nb.id as i64,
                    &seen.0,
                    seen.1.as_deref(),
                    &seen.2,
                )
                .await?;
                self.addresses.insert(nb.id, seen);
            }
            if stats_due {
                // Stats are a nicety: their failure (often the stricter rate limit) does not
                // fail the poll of backend states.
                match self.client.stats(nb.id).await {
                    Ok(stats) => {
                        backends::record_connections(
                            &self.pool,
                            nb.id as i64,
                            &stats.connections(),
                        )
                        .await?;
                        self.stats_at = Some(std::time::Instant::now());
                    }
                    Err(e) => {
                        tracing::warn!(nodebalancer = nb.id, error = %e, "NodeBalancer stats failed")
                    }
                }
            }
            for cfg in self.client.configs(nb.id).await? {
                let mut port_view = Vec::new();
                let nodes = self.client.nodes(nb.id, cfg.id).await?;
                readings.extend(self.reading(&nb, &cfg, &nodes, now));
                for node in nodes {
                    let status = BackendStatus::from_linode(&node.status);
                    let key = (cfg.id as i64, node.id as i64);
                    let subject = format!("lb:{}:{}:{}", nb.label, cfg.port, node.label);
                    let history = self
                        .histories
                        .entry(key)
                        .or_insert_with(|| BackendHistory::new(status, now));
                    let seen = history.observe(status, now, self.rule);
                    if let Some((from, to)) = seen.changed {
                        changes.push(Change {
                            config_id: key.0,
                            node_id: key.1,
                            at: now,
                            from: from.as_str().into(),
                            to: to.as_str().into(),
                        });
                        new_events.push(NewEvent {
                            subject: subject.clone(),
                            data: EventData::BackendChanged(BackendChanged {
                                nodebalancer: nb.label.clone(),
                                port: cfg.port,
                                backend: node.label.clone(),
                                address: node.address.clone(),
                                from,
                                to,
                            }),
                        });
                    }
                    if let Some(flapping) = seen.flapping_changed {
                        new_events.push(NewEvent {
                            subject: subject.clone(),
                            data: EventData::BackendFlapping(BackendFlapping {
                                nodebalancer: nb.label.clone(),
                                port: cfg.port,
                                backend: node.label.clone(),
                                flapping,
                            }),
                        });
                    }
                    port_view.push((history.status, history.flapping));
                    rows.push(Backend {
                        nodebalancer_id: nb.id as i64,
                        nodebalancer_label: nb.label.clone(),
                        config_id: key.0,
                        port: i32::from(cfg.port),
                        protocol: cfg.protocol.clone(),
                        node_id: key.1,
                        label: node.label.clone(),
                        address: node.address.clone(),
                        status: history.status.as_str().into(),
                        mode: node.mode.clone(),
                        weight: i32::from(node.weight),
                        flapping: history.flapping,
                        since: history.since,
                        seen_at: now,
                    });
                }
                let broken = ingress_broken(&port_view);
                let was = self.broken.insert(cfg.id as i64, broken).unwrap_or(false);
                if broken != was {
                    let message = if broken {
                        "no backend is steadily up: traffic cannot get in"
                    } else {
                        "a backend is steadily up again"
                    };
                    new_events.push(NewEvent {
                        subject: format!("lb:{}:{}", nb.label, cfg.port),
                        data: EventData::Ingress(IngressChanged {
                            nodebalancer: nb.label.clone(),
                            port: cfg.port,
                            broken,
                            message: message.into(),
                        }),
                    });
                }
            }
        }
        backends::record(&self.pool, &rows, &changes, new_events).await?;
        lb_configs::record(&self.pool, &readings).await?;
        let latest = self.configs.get_or_insert_with(HashMap::new);
        for r in readings {
            latest.insert(
                r.config_id,
                lb_configs::Latest {
                    settings: r.settings,
                    nodebalancer_updated: r.nodebalancer_updated,
                },
            );
        }
        Ok(rows.len())
    }

    /// This poll's reading of one port's configuration, when it is news: the first reading, a
    /// change, or the same settings posted again (the NodeBalancer's `updated` moved).
    fn reading(
        &self,
        nb: &super::client::NodeBalancer,
        cfg: &super::client::Config,
        nodes: &[super::client::Node],
        now: chrono::DateTime<Utc>,
    ) -> Option<lb_configs::Reading> {
        let settings = cfg.history_settings(nodes);
        let previous = self
            .configs
            .as_ref()
            .and_then(|c| c.get(&(cfg.id as i64)))
            .map(|l| (&l.settings, l.nodebalancer_updated.as_deref()));
        let (change, changes) = classify(previous, &settings, nb.updated.as_deref())?;
        Some(lb_configs::Reading {
            nodebalancer_id: nb.id as i64,
            nodebalancer_label: nb.label.clone(),
            config_id: cfg.id as i64,
            port: cfg.port,
            at: now,
            nodebalancer_updated: nb.updated.clone(),
            settings,
            change,
            changes,
        })
    }
}
