//! The requirements API handlers name in `Require<…>`: a scope, or reading what a scope writes.

use vigil_core::model::auth::{Auth, Denied, Principal, Scope};

use crate::http::api::extract::Requirement;
use vigil_core::model::auth::{INCIDENT_WRITERS, POSTMORTEM_WRITERS};

macro_rules! scopes {
    ($($(#[$m:meta])* $name:ident => $check:expr;)+) => {$(
        $(#[$m])*
        pub struct $name;
        impl Requirement for $name {
            fn check(auth: &Auth) -> Result<&Principal, Denied> {
                let check: fn(&Auth) -> Result<&Principal, Denied> = $check;
                check(auth)
            }
        }
    )+};
}

scopes! {
    Read => |a| a.require(Scope::Read);
    Admin => |a| a.require(Scope::Admin);
    Agent => |a| a.require(Scope::Agent);
    IncidentsWrite => |a| a.require(Scope::IncidentsWrite);
    PostmortemsWrite => |a| a.require(Scope::PostmortemsWrite);
    ConfigWrite => |a| a.require(Scope::ConfigWrite);
    /// Reading incidents: `read`, or a scope that writes them.
    ReadsIncidents => |a| a.require_reading(INCIDENT_WRITERS);
    /// Reading post-mortems: `read`, or a scope that writes them.
    ReadsPostmortems => |a| a.require_reading(POSTMORTEM_WRITERS);
}
