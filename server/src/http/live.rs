use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
    Extension,
};
use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;
use vigil_core::model::{
    auth::{Auth, Scope},
    live::LiveStatus,
};

/// `GET /events/live`: the live feed as server-sent events, one JSON `LiveStatus` per tick. Ops
/// readers see the database's state; everybody else only the tick and the status version.
pub async fn events(
    State(live): State<watch::Receiver<LiveStatus>>,
    Extension(auth): Extension<Auth>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let ops = auth.require(Scope::Read).is_ok();
    let stream = WatchStream::new(live).map(move |status| {
        let status = if ops { status } else { status.public() };
        let event = Event::default()
            .id(status.seq.to_string())
            .json_data(&status)
            .unwrap_or_else(|_| Event::default().comment("unserialisable status"));
        Ok(event)
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
