//! The `knowledge-hub` command: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use knowledge_hub::{
    app::{Application, prepare_database, shutdown_signal},
    config::{Cli, Command},
    graphql::schema::sdl,
    telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", sdl());
            Ok(())
        }
        Command::Migrate => prepare_database(&cli.settings.database_url).await.map(|_| ()),
        Command::Serve => serve(&cli).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(cli: &Cli) -> Result<(), knowledge_hub::app::StartupError> {
    let app = Application::build(&cli.settings).await?;
    let shutdown = shutdown_signal()?;
    let addr = app.local_addr()?;
    tracing::info!("knowledge-hub listening on http://{addr}/ (GraphQL at /graphql, playground at /)");
    app.run_until(shutdown).await?;
    Ok(())
}
