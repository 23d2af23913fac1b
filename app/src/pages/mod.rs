pub mod dependencies;
pub mod follow_ups;
pub mod incidents;
pub mod login;
pub mod not_found;
pub mod ops;
pub mod postmortem_editor;
pub mod postmortem_parts;
pub mod postmortem_review;
pub mod postmortems;
pub mod reliability;
pub mod settings;
pub mod slos;
pub mod status;
pub mod subscribe;
pub mod uptime;

/// A moment as every page writes it: minutes, UTC, said so.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
