//! The `vigil user …` and `vigil token …` commands. Each opens the same database `vigil serve`
//! uses, applies pending migrations, acts, records the change in the audit log, and closes.

use std::io::{BufRead, IsTerminal};

use vigil_core::store::{audit, tokens, users, PgPool};

use crate::{
    auth::{password, token},
    cli::{TokenAction, UserAction},
};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no user named `{0}`; `vigil user list` shows who exists")]
    NoSuchUser(String),
    #[error("a user named `{0}` already exists")]
    UserExists(String),
    #[error("`{0}` is not a valid username: use letters, digits and . _ @ - (at most 64, starting with a letter or digit)")]
    BadUsername(String),
    #[error("no live token with id {0}; `vigil token list` shows them")]
    NoSuchToken(i64),
    #[error("a display name has at most 100 characters")]
    BadDisplayName,
    #[error("the two passwords differ")]
    Mismatch,
    /// `--region` missing, misplaced or malformed; the text says which and how to fix it.
    #[error("{0}")]
    Region(String),
    #[error("no password given on standard input")]
    NoPassword,
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error("cannot read the password: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] vigil_core::store::StoreError),
}

/// Who ran the command, for the audit log.
fn actor() -> String {
    let name = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| nix::unistd::getuid().to_string());
    format!("cli:{name}")
}

fn valid_username(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.@-".contains(c))
}

fn read_password() -> Result<String, AdminError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            return Err(AdminError::Mismatch);
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            return Err(AdminError::NoPassword);
        }
        Ok(pw)
    }
}

pub async fn user(pool: &PgPool, action: UserAction) -> Result<(), AdminError> {
    let actor = actor();
    match action {
        UserAction::Add { name, role } => {
            if !valid_username(&name) {
                return Err(AdminError::BadUsername(name));
            }
            if users::by_name(pool, &name).await?.is_some() {
                return Err(AdminError::UserExists(name));
            }
            let hash = password::hash(&read_password()?)?;
            users::create(pool, &name, &hash, role).await?;
            audit::record(
                pool,
                &actor,
                "user.add",
                &format!("user:{name}"),
                serde_json::json!({ "role": role }),
            )
            .await?;
            eprintln!("created {role} `{name}`");
        }
        UserAction::List => {
            println!("{:<24} {:<8} {:<9} created", "name", "role", "state");
            for u in users::list(pool).await? {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:<24} {:<8} {:<9} {}",
                    u.username,
                    u.role,
                    state,
                    u.created_at.format("%Y-%m-%d")
                );
            }
        }
        UserAction::SetRole { name, role } => {
            if !users::set_role(pool, &name, role).await? {
                return Err(AdminError::NoSuchUser(name));
            }
            audit::record(
                pool,
                &actor,
                "user.set_role",
                &format!("user:{name}"),
                serde_json::json!({ "role": role }),
            )
            .await?;
            eprintln!("`{name}` is now {role}");
        }
        UserAction::Disable { name } => {
            set_disabled(pool, &actor, &name, true).await?;
            eprintln!("`{name}` can no longer sign in");
        }
        UserAction::Enable { name } => {
            set_disabled(pool, &actor, &name, false).await?;
            eprintln!("`{name}` can sign in again");
        }
        UserAction::Passwd { name } => {
            if users::by_name(pool, &name).await?.is_none() {
                return Err(AdminError::NoSuchUser(name));
            }
            let hash = password::hash(&read_password()?)?;
            users::set_password(pool, &name, &hash).await?;
            audit::record(
                pool,
                &actor,
                "user.passwd",
                &format!("user:{name}"),
                serde_json::json!({}),
            )
            .await?;
            eprintln!("password changed for `{name}`; their sessions have ended");
        }
        UserAction::SetDisplayName { name, display_name } => {
            let shown = display_name.trim();
            if shown.chars().count() > 100 {
                return Err(AdminError::BadDisplayName);
            }
            let shown = (!shown.is_empty()).then_some(shown);
            if !users::set_display_name(pool, &name, shown).await? {
                return Err(AdminError::NoSuchUser(name));
            }
            audit::record(
                pool,
                &actor,
                "user.set_display_name",
                &format!("user:{name}"),
                serde_json::json!({ "display_name": shown }),
            )
            .await?;
            match shown {
                Some(d) => eprintln!("`{name}` appears publicly as \"{d}\""),
                None => eprintln!("`{name}` appears publicly as \"Vigil\""),
            }
        }
    }
    Ok(())
}

async fn set_disabled(
    pool: &PgPool,
    actor: &str,
    name: &str,
    disabled: bool,
) -> Result<(), AdminError> {
    if !users::set_disabled(pool, name, disabled).await? {
        return Err(AdminError::NoSuchUser(name.to_string()));
    }
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::record(
        pool,
        actor,
        action,
        &format!("user:{name}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

pub async fn token(pool: &PgPool, action: TokenAction) -> Result<(), AdminError> {
    let actor = actor();
    match action {
        TokenAction::Create {
            name,
            scopes,
            region,
        } => {
            use vigil_core::model::{
                auth::Scope,
                monitor::{is_region_name, LOCAL},
            };
            let agent = scopes.contains(&Scope::Agent);
            match region.as_deref() {
                None if agent => return Err(AdminError::Region(
                    "--region: an agent token speaks for one region; add --region NAME (as monitors list it in `regions`, e.g. eu-west)".into()
                )),
                Some(_) if !agent => {
                    return Err(AdminError::Region("--region: only a token with --scope agent has a region".into()))
                }
                Some(r) if r == LOCAL || !is_region_name(r) => return Err(AdminError::Region(format!(
                    "--region: `{r}` is not an agent's region: letters, digits, - and _, up to 40, not `local`"
                ))),
                _ => {}
            }
            let new = token::generate();
            let t = tokens::create(
                pool,
                &name,
                &new.hash,
                &new.display_prefix,
                &scopes,
                region.as_deref(),
                &actor,
            )
            .await?;
            audit::record(
                pool,
                &actor,
                "token.create",
                &format!("token:{}", t.id),
                serde_json::json!({ "name": name, "scopes": scopes, "region": region }),
            )
            .await?;
            // The secret alone on stdout, so `TOKEN=$(vigil token create …)` works.
            println!("{}", new.secret);
            eprintln!(
                "token {} `{name}` created; it is shown only this once",
                t.id
            );
        }
        TokenAction::List => {
            println!(
                "{:<5} {:<20} {:<12} {:<40} {:<17} state",
                "id", "name", "prefix", "scopes", "last used"
            );
            for t in tokens::list(pool).await? {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
                let used = t
                    .last_used_at
                    .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "never".into());
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{:<5} {:<20} {:<12} {:<40} {:<17} {state}",
                    t.id,
                    t.name,
                    t.prefix,
                    scopes.join(","),
                    used
                );
            }
        }
        TokenAction::Revoke { id } => {
            let t = tokens::revoke(pool, id)
                .await?
                .ok_or(AdminError::NoSuchToken(id))?;
            audit::record(
                pool,
                &actor,
                "token.revoke",
                &format!("token:{id}"),
                serde_json::json!({ "name": t.name }),
            )
            .await?;
            eprintln!("token {id} `{}` revoked", t.name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::valid_username;

    #[test]
    fn usernames_match_the_database_rule() {
        assert!(valid_username("joe"));
        assert!(valid_username("joe.banks@example.org"));
        assert!(!valid_username(""));
        assert!(!valid_username("-joe"));
        assert!(!valid_username("joe banks"));
        assert!(!valid_username(&"x".repeat(65)));
    }
}
