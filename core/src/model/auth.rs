//! Who may do what. Users have a role, machines have a token with scopes; both are checked the
//! same way: does this principal hold the scope the action needs?

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A person's role. Ordered: each role can do everything the ones before it can.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

/// What a credential allows. Tokens carry a set; a user's role implies one.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[strum(serialize_all = "snake_case")]
pub enum Scope {
    /// Read the internal dashboard and the `/api/v1` read endpoints.
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "incidents:write")]
    #[strum(serialize = "incidents:write")]
    IncidentsWrite,
    #[serde(rename = "postmortems:write")]
    #[strum(serialize = "postmortems:write")]
    PostmortemsWrite,
    /// Change the world: components, monitors (`/api/v1/components`, `/api/v1/monitors`,
    /// `/api/v1/world`). People need the admin role for it.
    #[serde(rename = "config:write")]
    #[strum(serialize = "config:write")]
    ConfigWrite,
    /// Probe agents pushing results and heartbeats.
    #[serde(rename = "agent")]
    Agent,
    /// Everything, including users, tokens, settings and the audit log.
    #[serde(rename = "admin")]
    Admin,
}

pub const ALL_SCOPES: [Scope; 6] = [
    Scope::Read,
    Scope::IncidentsWrite,
    Scope::PostmortemsWrite,
    Scope::ConfigWrite,
    Scope::Agent,
    Scope::Admin,
];

impl Scope {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`; expected one of: {expected}")]
pub struct ParseError {
    what: &'static str,
    given: String,
    expected: String,
}

/// `s` as one of `all`, by name; the error lists the names.
fn by_name<T: Copy + Into<&'static str>>(
    what: &'static str,
    s: &str,
    all: &[T],
) -> Result<T, ParseError> {
    all.iter()
        .copied()
        .find(|v| (*v).into() == s)
        .ok_or_else(|| ParseError {
            what,
            given: s.to_string(),
            expected: all
                .iter()
                .map(|v| (*v).into())
                .collect::<Vec<&str>>()
                .join(", "),
        })
}

impl FromStr for Scope {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name("scope", s, &ALL_SCOPES)
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The scopes a role implies.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Role::Viewer => &[Scope::Read],
            Role::Editor => &[Scope::Read, Scope::IncidentsWrite, Scope::PostmortemsWrite],
            Role::Admin => &ALL_SCOPES,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use strum::VariantArray;
        by_name("role", s, Role::VARIANTS)
    }
}

/// Someone (or something) the server has authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Principal {
    User {
        id: i64,
        name: String,
        role: Role,
    },
    Token {
        id: i64,
        name: String,
        scopes: Vec<Scope>,
        /// The one region an agent token speaks for (set at creation).
        region: Option<String>,
    },
}

/// Who the caller is and what it may do: `GET /api/v1/me`, and the ops pages' header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// `user` or `token`.
    pub kind: String,
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub scopes: Vec<Scope>,
}

impl Me {
    /// "ada (admin)", "deploy-bot (token)".
    pub fn label(&self) -> String {
        match self.role {
            Some(role) => format!("{} ({role})", self.name),
            None => format!("{} ({})", self.name, self.kind),
        }
    }
}

impl Principal {
    /// Whether this agent may speak for `region`: its token must be bound to that region (an
    /// `admin` token, or a signed-in admin, speaks for any). The `agent` scope is checked first,
    /// by whoever asks this.
    pub fn speaks_for(&self, region: &str) -> Result<(), Denied> {
        match self {
            Principal::Token { region: Some(bound), .. } if bound == region => Ok(()),
            Principal::Token { region: Some(bound), .. } => Err(Denied::OtherRegion(format!(
                "region: this token speaks for `{bound}` only, not `{region}`; run the agent of `{region}` with a token created with --region {region}"
            ))),
            Principal::Token { scopes, .. } if !scopes.contains(&Scope::Admin) => {
                Err(Denied::OtherRegion(format!(
                    "region: this agent token is bound to no region; create one with `vigil token create --name NAME --scope agent --region {region}` and revoke this one"
                )))
            }
            _ => Ok(()),
        }
    }

    pub fn me(&self) -> Me {
        let scopes = self.scopes();
        match self {
            Principal::User { id, name, role } => Me {
                kind: "user".into(),
                id: *id,
                name: name.clone(),
                role: Some(*role),
                scopes,
            },
            Principal::Token { id, name, .. } => Me {
                kind: "token".into(),
                id: *id,
                name: name.clone(),
                role: None,
                scopes,
            },
        }
    }

    /// The scopes this principal holds; `admin` holds them all.
    pub fn scopes(&self) -> Vec<Scope> {
        match self {
            Principal::User { role, .. } => role.scopes().to_vec(),
            Principal::Token { scopes, .. } if scopes.contains(&Scope::Admin) => {
                ALL_SCOPES.to_vec()
            }
            Principal::Token { scopes, .. } => scopes.clone(),
        }
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes().contains(&scope)
    }

    pub fn name(&self) -> &str {
        match self {
            Principal::User { name, .. } | Principal::Token { name, .. } => name,
        }
    }

    /// How the audit log names the actor: `user:alice`, `token:ci-deploy`.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::User { name, .. } => format!("user:{name}"),
            Principal::Token { name, .. } => format!("token:{name}"),
        }
    }
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Denied {
    /// No (valid) credentials: sign in or send a token. HTTP 401.
    #[error("sign in, or send an API token, to do this")]
    Unauthenticated,
    /// Valid credentials without the needed scope. HTTP 403.
    #[error("this needs the `{0}` permission, which you do not have")]
    Forbidden(Scope),
    /// An agent token asked for or spoke for a region it is not bound to. HTTP 403.
    #[error("{0}")]
    OtherRegion(String),
}

/// The request's authentication outcome, as the server resolved it before any handler ran.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth(pub Option<Principal>);

impl Auth {
    /// The one authorization check every route and server function goes through.
    pub fn require(&self, scope: Scope) -> Result<&Principal, Denied> {
        match &self.0 {
            None => Err(Denied::Unauthenticated),
            Some(p) if p.allows(scope) => Ok(p),
            Some(_) => Err(Denied::Forbidden(scope)),
        }
    }

    /// An agent speaking for `region`: its token must be bound to that region (an `admin` token,
    /// or a signed-in admin, speaks for any).
    pub fn require_agent_of(&self, region: &str) -> Result<&Principal, Denied> {
        let p = self.require(Scope::Agent)?;
        p.speaks_for(region)?;
        Ok(p)
    }

    pub fn require_reading(&self, written_by: &[Scope]) -> Result<&Principal, Denied> {
        match &self.0 {
            Some(p) if written_by.iter().any(|s| p.allows(*s)) => Ok(p),
            _ => self.require(Scope::Read),
        }
    }
}

/// How public pages name an author who has no display name, and Vigil's own automatic updates.
pub const PUBLIC_AUTHOR: &str = "Vigil";

/// Who may read incidents: besides `read`, those who write incidents or their post-mortems.
pub const INCIDENT_WRITERS: &[Scope] = &[Scope::IncidentsWrite, Scope::PostmortemsWrite];
/// Who may read post-mortems besides `read`.
pub const POSTMORTEM_WRITERS: &[Scope] = &[Scope::PostmortemsWrite];

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Auth {
        Auth(Some(Principal::User {
            id: 1,
            name: "joe".into(),
            role,
        }))
    }

    #[test]
    fn roles_are_ordered_and_imply_growing_scopes() {
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
        assert!(user(Role::Viewer).require(Scope::Read).is_ok());
        assert_eq!(
            user(Role::Viewer).require(Scope::IncidentsWrite),
            Err(Denied::Forbidden(Scope::IncidentsWrite))
        );
        assert!(user(Role::Editor).require(Scope::PostmortemsWrite).is_ok());
        assert_eq!(
            user(Role::Editor).require(Scope::Admin),
            Err(Denied::Forbidden(Scope::Admin))
        );
        assert!(user(Role::Admin).require(Scope::Agent).is_ok());
    }

    #[test]
    fn anonymous_is_unauthenticated_not_forbidden() {
        assert_eq!(
            Auth(None).require(Scope::Read),
            Err(Denied::Unauthenticated)
        );
    }

    #[test]
    fn an_agent_token_speaks_for_its_own_region_only() {
        let t = |scopes: Vec<Scope>, region: Option<&str>| {
            Auth(Some(Principal::Token {
                id: 1,
                name: "agent".into(),
                scopes,
                region: region.map(str::to_string),
            }))
        };
        let eu = t(vec![Scope::Agent], Some("eu-west"));
        assert!(eu.require_agent_of("eu-west").is_ok());
        assert!(matches!(
            eu.require_agent_of("us-east"),
            Err(Denied::OtherRegion(m)) if m.contains("`eu-west` only")
        ));
        assert!(matches!(
            t(vec![Scope::Agent], None).require_agent_of("eu-west"),
            Err(Denied::OtherRegion(_))
        ));
        assert!(t(vec![Scope::Admin], None)
            .require_agent_of("eu-west")
            .is_ok());
        assert_eq!(
            t(vec![Scope::Read], Some("eu-west")).require_agent_of("eu-west"),
            Err(Denied::Forbidden(Scope::Agent))
        );
    }

    #[test]
    fn token_scopes_are_exact_except_admin() {
        let t = |scopes: Vec<Scope>| {
            Auth(Some(Principal::Token {
                id: 1,
                name: "ci".into(),
                scopes,
                region: None,
            }))
        };
        assert!(t(vec![Scope::Agent]).require(Scope::Read).is_err());
        assert!(t(vec![Scope::IncidentsWrite])
            .require(Scope::IncidentsWrite)
            .is_ok());
        assert!(t(vec![Scope::Admin])
            .require(Scope::PostmortemsWrite)
            .is_ok());
    }

    #[test]
    fn a_write_scope_reads_what_it_writes_and_nothing_else() {
        let t = |scopes: Vec<Scope>| {
            Auth(Some(Principal::Token {
                id: 1,
                name: "ci".into(),
                scopes,
                region: None,
            }))
        };
        assert!(t(vec![Scope::PostmortemsWrite])
            .require_reading(POSTMORTEM_WRITERS)
            .is_ok());
        assert!(t(vec![Scope::IncidentsWrite])
            .require_reading(INCIDENT_WRITERS)
            .is_ok());
        assert!(t(vec![Scope::Read])
            .require_reading(POSTMORTEM_WRITERS)
            .is_ok());
        assert_eq!(
            t(vec![Scope::IncidentsWrite]).require_reading(POSTMORTEM_WRITERS),
            Err(Denied::Forbidden(Scope::Read))
        );
        assert_eq!(
            t(vec![Scope::Agent]).require_reading(INCIDENT_WRITERS),
            Err(Denied::Forbidden(Scope::Read))
        );
        assert_eq!(
            Auth(None).require_reading(INCIDENT_WRITERS),
            Err(Denied::Unauthenticated)
        );
    }

    #[test]
    fn names_parse_both_ways_with_helpful_errors() {
        for s in ALL_SCOPES {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        let err = "incidents".parse::<Scope>().unwrap_err().to_string();
        assert!(err.contains("incidents:write"), "{err}");
        assert_eq!("editor".parse::<Role>(), Ok(Role::Editor));
        assert!("root"
            .parse::<Role>()
            .unwrap_err()
            .to_string()
            .contains("viewer, editor, admin"));
    }
}
