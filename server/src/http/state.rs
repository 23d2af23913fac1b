//! What every handler and layer may need, in one value cheap to clone.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use tokio::sync::watch;
use vigil_core::{model::live::LiveStatus, store::status::StatusCache};

use crate::http::{public::cache, security};
use crate::{auth, config::AuthConfig, probes::registry::ProbeHandle};

/// What every handler may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub live: watch::Receiver<LiveStatus>,
    #[from_ref(skip)]
    pub publisher: crate::live::Publisher,
    #[from_ref(skip)]
    pub auth: AuthConfig,
    #[from_ref(skip)]
    pub probes: ProbeHandle,
    /// This replica, and what it holds.
    #[from_ref(skip)]
    pub cluster: crate::cluster::Cluster,
    #[from_ref(skip)]
    pub status: std::sync::Arc<StatusCache>,
    /// The public read side, rendered once per change and kept compressed.
    #[from_ref(skip)]
    pub public: std::sync::Arc<cache::PublicCache>,
    /// `[status_page] title`: the page's title until the world's page settings give one.
    #[from_ref(skip)]
    pub title: String,
    /// Requests to follow the page.
    #[from_ref(skip)]
    pub subscriptions: std::sync::Arc<crate::subscribers::Subscriptions>,
    #[from_ref(skip)]
    pub public_url: String,
    /// As configured at start; [`AppState::graph_settings`] is what is drawn now.
    #[from_ref(skip)]
    pub graphs: std::sync::Arc<vigil_core::model::resource::GraphSettings>,
    /// How many approvals publishing a post-mortem needs.
    #[from_ref(skip)]
    pub review: vigil_core::model::review::ReviewRules,
    pub framing: std::sync::Arc<security::Framing>,
    /// The bearer token `/metrics` requires, when `server.metrics_token_env` names one.
    #[from_ref(skip)]
    pub metrics_token: Option<std::sync::Arc<str>>,
    /// What one client may hold or repeat (live streams, sign-in attempts).
    #[from_ref(skip)]
    pub limits: std::sync::Arc<crate::limits::Limits>,
    /// The live world, and what validating a change of it needs.
    #[from_ref(skip)]
    pub world: std::sync::Arc<WorldSettings>,
    /// What explains an incident: the dependency map and the chain of causes.
    #[from_ref(skip)]
    pub causes: crate::incidents::causes::Explainer,
    /// `[github]`, when follow-ups are tracked there.
    #[from_ref(skip)]
    pub github: Option<std::sync::Arc<crate::config::github::GithubConfig>>,
}

/// What the world's API and pages need: its live view and the limits monitors are checked by.
pub struct WorldSettings {
    pub live: crate::world::follow::Live,
    pub probes: crate::config::monitors::ProbesConfig,
    /// What the settings pages change the world through.
    pub desk: std::sync::Arc<dyn vigil_core::model::world::WorldDesk>,
    /// The objectives judged now, for the API and the pages.
    pub judge: crate::objectives::Judge,
}

/// What sign-in and the credential resolver take from the server's state.
impl FromRef<AppState> for auth::AuthState {
    fn from_ref(state: &AppState) -> Self {
        auth::AuthState {
            pool: state.pool.clone(),
            config: state.auth.clone(),
            limits: state.limits.clone(),
        }
    }
}

impl AppState {
    /// The page's title: the world's page settings', else the configured one.
    pub fn page_title(&self) -> String {
        self.world
            .live
            .borrow()
            .settings
            .page
            .as_ref()
            .map_or_else(|| self.title.clone(), |p| p.title.clone())
    }

    /// How node graphs are drawn: the configured staleness, with the live world's sampling
    /// interval (its fastest resource source) and alert rules (their thresholds are drawn).
    pub fn graph_settings(&self) -> std::sync::Arc<vigil_core::model::resource::GraphSettings> {
        let live = self.world.live.borrow();
        let w = &live.settings;
        let sample_secs = w
            .prometheus
            .iter()
            .map(|p| p.interval_secs)
            .chain(w.node_exporters.iter().map(|e| e.interval_secs))
            .min()
            .unwrap_or(self.graphs.sample_secs);
        let rules = crate::config::resources::ResourcesConfig {
            alerts: w.alerts.clone(),
            ..Default::default()
        }
        .rules();
        std::sync::Arc::new(vigil_core::model::resource::GraphSettings {
            node_stale_secs: self.graphs.node_stale_secs,
            sample_secs,
            rules,
        })
    }

    /// What the page says of its owner besides its title.
    pub fn page_header(&self) -> vigil_core::model::status::PageHeader {
        let live = self.world.live.borrow();
        let page = live.settings.page.as_ref();
        vigil_core::model::status::PageHeader {
            description: page.and_then(|p| p.description.clone()),
            links: page
                .map(|p| {
                    p.links
                        .iter()
                        .map(|l| (l.name.clone(), l.url.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}
