//! Who is signed in, the audit log, the replicas.

use leptos::prelude::*;
use vigil_core::model::audit::AuditEntry;

#[cfg(feature = "ssr")]
use super::guard;

#[server]
pub async fn whoami() -> Result<vigil_core::model::auth::Me, ServerFnError> {
    use vigil_core::model::auth::Scope;
    Ok(guard::require(Scope::Read).await?.me())
}

/// The newest 200 audit entries. Admins only.
#[server]
pub async fn audit_entries() -> Result<Vec<AuditEntry>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    vigil_core::store::audit::recent(&pool, 200)
        .await
        .map_err(guard::fail)
}

/// The replicas heard from in the last minute, and what each holds. Readers of `/ops`.
#[server]
pub async fn get_replicas() -> Result<Vec<vigil_core::model::cluster::ReplicaView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::cluster::replicas(&pool, 60.0)
        .await
        .map_err(guard::fail)
}
