use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;
use vigil_core::model::live::LiveStatus;

/// `GET /events/live`: the live feed as server-sent events, one JSON `LiveStatus` per tick.
pub async fn events(
    State(live): State<watch::Receiver<LiveStatus>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = WatchStream::new(live).map(|status| {
        let event = Event::default()
            .id(status.seq.to_string())
            .json_data(&status)
            .unwrap_or_else(|_| Event::default().comment("unserialisable status"));
        Ok(event)
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
