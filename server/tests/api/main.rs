//! Vigil's integration tests, as one binary: the server links once, not once per topic. Each
//! module is a topic; `common` holds `spawn_app` (a real server on a fresh database) and friends.

mod common;

mod access;
mod agents;
mod bombs;
mod causes;
mod cli;
mod cluster;
mod embed;
mod events;
mod follow_ups;
mod github;
mod http;
mod imports;
mod incidents;
mod kubernetes;
mod limits;
mod linode_client;
mod load_balancers;
mod notifications;
mod objectives;
mod openapi;
mod outage;
mod postmortems;
mod probes;
mod public_cache;
mod real_prometheus;
mod reliability;
mod replicas;
mod resources;
mod restart;
mod reviews;
mod routes;
mod sim_webhooks;
mod status;
mod subscribers;
mod text_page;
mod upstream;
mod uptime;
mod world;
mod world_settings;
