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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration\n{e}");
            return ExitCode::from(2);
        }
    };
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
            println!("{config:#?}");
        }
        Command::User { action } => {
            let db = Database::open(&config.database).await?;
            db.migrate().await?;
            let result = admin::user(&db.pool, action).await;
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
