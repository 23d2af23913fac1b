use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Logs to stderr; `VIGIL_LOG` (or `RUST_LOG`) picks the levels, e.g. `VIGIL_LOG=vigil=debug`.
pub fn init() {
    let filter = EnvFilter::try_from_env("VIGIL_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init();
}
