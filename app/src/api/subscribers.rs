//! Following the page: the offer, and subscribers for admins.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;

/// What the subscribe form offers (channels, components). Public.
#[server]
pub async fn get_subscribe_offer(
) -> Result<vigil_core::model::subscriber::SubscribeOffer, ServerFnError> {
    use vigil_core::model::subscriber::SubscribeOffer;
    let offer = use_context::<SubscribeOffer>().unwrap_or_default();
    let pool = guard::pool()?;
    let components = vigil_core::store::incidents::component_choices(&pool)
        .await
        .map_err(guard::fail)?;
    Ok(SubscribeOffer {
        components,
        ..offer
    })
}

/// One page of subscribers with counts. Admins only: addresses are personal data.
#[server]
pub async fn get_subscribers(
    page: i64,
) -> Result<vigil_core::model::subscriber::SubscriberPage, ServerFnError> {
    use vigil_core::model::{auth::Scope, subscriber::SubscriberPage};
    guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    let per_page = 100;
    let page = page.max(1);
    let (subscribers, total) = vigil_core::store::subscribers::list(&pool, page, per_page)
        .await
        .map_err(guard::fail)?;
    let counts = vigil_core::store::subscribers::counts(&pool)
        .await
        .map_err(guard::fail)?;
    Ok(SubscriberPage {
        subscribers,
        total,
        page,
        per_page,
        counts,
    })
}

/// Removes a subscriber and what is queued for it. Admins only; audited.
#[server]
pub async fn remove_subscriber(id: i64) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    if vigil_core::store::subscribers::remove(&pool, id, &who.audit_name())
        .await
        .map_err(guard::fail)?
    {
        Ok(())
    } else {
        Err(ServerFnError::new(format!("no subscriber {id}")))
    }
}
