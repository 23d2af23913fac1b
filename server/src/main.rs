use std::process::ExitCode;

use clap::Parser;
use vigil_server::{
    admin,
    cli::{Cli, Command, DbAction},
    config::Config,
    db::Database,
    pg_embedded::EmbeddedPg,
    startup::{shutdown_signal, Application},
    telemetry,
};

fn main() -> ExitCode {
    // glibc gives every thread its own malloc arena; for a server this small two are plenty, and
    // the idle footprint drops by megabytes. Set before any thread starts.
    // SAFETY: called once, before the runtime spawns threads; mallopt only tunes the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts");
    runtime.block_on(async_main())
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration\n{e}");
            return ExitCode::from(2);
        }
    };
    if let vigil_server::cli::Command::Import { source } = cli.command {
        return match vigil_server::world::cli::import(&config, source).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let vigil_server::cli::Command::World { action } = cli.command {
        return match vigil_server::world::cli::run(&config, action).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Agent(args) => {
            let signal = shutdown_signal()?;
            let shutdown = tokio_util::sync::CancellationToken::new();
            let cancel = shutdown.clone();
            tokio::spawn(async move {
                signal.await;
                cancel.cancel();
            });
            vigil_server::agent::run(args, shutdown).await?;
        }
        Command::Serve => {
            let signal = shutdown_signal()?;
            let app = Application::build(&config).await?;
            app.run_until(signal).await?;
        }
        Command::Migrate => {
            let db = Database::open(&config.database).await?;
            db.migrate().await?;
            println!("database is up to date");
            db.close().await?;
        }
        Command::CheckConfig => {
            println!("{:#?}", config.redacted());
            for warning in config.warnings() {
                eprintln!("warning: {warning}");
            }
        }
        Command::User { action } => {
            let db = Database::open(&config.database).await?;
            db.migrate().await?;
            let result = admin::user(&db.pool, action).await;
            // Close (and stop a cluster started for this command) whether or not it worked.
            db.close().await?;
            result?;
        }
        Command::Token { action } => {
            let db = Database::open(&config.database).await?;
            db.migrate().await?;
            let result = admin::token(&db.pool, action).await;
            db.close().await?;
            result?;
        }
        Command::World { .. } | Command::Import { .. } => unreachable!("answered before"),
        Command::Db { action } => {
            if config.database.url.is_some() {
                anyhow::bail!("DATABASE_URL (or database.url) is set: Vigil uses that server and runs no embedded cluster");
            }
            let data_dir = &config.database.data_dir;
            match action {
                DbAction::Start => {
                    let pg = EmbeddedPg::ensure_running(data_dir, &config.database.run_as).await?;
                    println!("{}", pg.url());
                }
                DbAction::Stop => {
                    let pg = EmbeddedPg::prepare(data_dir, &config.database.run_as)?;
                    pg.stop()?;
                    eprintln!(
                        "stopped the embedded PostgreSQL in {}",
                        pg.data_dir().display()
                    );
                }
                DbAction::Status => {
                    let pg = EmbeddedPg::prepare(data_dir, &config.database.run_as)?;
                    let state = if pg.is_running() {
                        "running"
                    } else {
                        "stopped"
                    };
                    println!("{state} {}", pg.url());
                }
            }
        }
    }
    Ok(())
}
