use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
    Extension,
};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::WatchStream;
use vigil_core::model::auth::{Auth, Scope};

use super::AppState;

/// `GET /events/live`: the live feed as server-sent events, one JSON `LiveStatus` per message.
/// Operators' pages get every heartbeat (each second, with the database's state); everybody else
/// gets the current status version on connecting and then only when it moves, so a thousand open
/// status pages cost nothing between changes.
pub async fn events(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let ops = auth.require(Scope::Read).is_ok();
    let listening = ops.then(|| state.publisher.listen_to_heartbeat());
    let mut shown = None;
    let stream = WatchStream::new(state.live.clone())
        .filter_map(move |status| {
            // The guard lives as long as the stream: the heartbeat stops when the page goes.
            let _ = &listening;
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
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(
        vigil_app::components::live_feed::LIVE_EVENTS_PATH,
        axum::routing::get(events),
    )
}
