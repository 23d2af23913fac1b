use std::{convert::Infallible, net::SocketAddr, time::Duration};

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::WatchStream;
use vigil_core::model::auth::{Auth, Scope};

use crate::http::state::AppState;

/// `GET /events/live`: the live feed as server-sent events, one JSON `LiveStatus` per message.
/// Operators' pages get every heartbeat (each second, with the database's state); everybody else
/// gets the current status version on connecting and then only when it moves, so a thousand open
/// status pages cost nothing between changes.
pub async fn events(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    // Each client holds a bounded number of streams (tabs); past it, a 429 and no task.
    let client = crate::auth::client::client_ip(peer.ip(), &headers, state.auth.proxies());
    let Some(slot) = state.limits.open_stream(client) else {
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "30")],
            "too many live streams open from your address; close some tabs\n",
        )
            .into_response());
    };
    let ops = auth.require(Scope::Read).is_ok();
    let listening = ops.then(|| state.publisher.listen_to_heartbeat());
    let mut shown = None;
    let stream = WatchStream::new(state.live.clone())
        .filter_map(move |status| {
            // The guards live as long as the stream: the heartbeat stops and the client's slot
            // is given back when the page goes.
            let _ = (&listening, &slot);
            let status = if ops { status } else { status.public() };
            let fresh = ops || shown != Some(status.status_version);
            shown = Some(status.status_version);
            std::future::ready(fresh.then_some(status))
        })
        .map(|status| {
            let event = Event::default()
                .id(status.seq.to_string())
                .json_data(&status)
                .unwrap_or_else(|_| Event::default().comment("unserialisable status"));
            Ok(event)
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

pub fn endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    vec![crate::http::endpoint::get(
        vigil_app::components::live_feed::LIVE_EVENTS_PATH,
        events,
    )]
}
