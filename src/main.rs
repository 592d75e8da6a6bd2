//! The `knowledge-hub` command: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use knowledge_hub::{
    app::{Application, prepare_database, shutdown_signal},
    bootstrap,
    config::{Cli, Command, CreateToken, TokenCommand},
    graphql::{
        persisted::KnownDocuments,
        schema::{bare_schema, sdl},
    },
    telemetry,
};

/// mimalloc instead of the system allocator: a GraphQL request makes many small short-lived
/// allocations, which glibc's malloc served at about a fifth of the CPU time of a point lookup
/// (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.settings.log_format);
    let result = match cli.command.clone().unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", sdl());
            Ok(())
        }
        Command::Documents => documents(&cli).await,
        Command::Migrate => prepare_database(&cli.settings.database_url).await.map(|_| ()),
        Command::Serve => serve(&cli).await,
        Command::Token { command: TokenCommand::Create(args) } => token_create(&cli, &args).await,
        Command::Demo => demo(&cli).await,
        Command::Backup { destination } => backup(&cli, &destination).await,
        Command::Audit { limit } => audit(&cli, limit).await,
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

/// Prints the known documents as a Markdown table (their costs need the schema, not a database).
async fn documents(cli: &Cli) -> Result<(), knowledge_hub::app::StartupError> {
    let known = KnownDocuments::load(cli.settings.documents.documents_dir.as_deref())?;
    let costs = known.validate(&bare_schema()).await?;
    print!("{}", known.table(&costs));
    Ok(())
}

async fn token_create(cli: &Cli, args: &CreateToken) -> Result<(), knowledge_hub::app::StartupError> {
    let db = prepare_database(&cli.settings.database_url).await?;
    let secret = bootstrap::create_token(&db, args).await?;
    eprintln!(
        "Created a token for {}. It is shown this once; send it as `Authorization: Bearer <token>`:",
        args.email
    );
    println!("{secret}");
    Ok(())
}

async fn audit(cli: &Cli, limit: u64) -> Result<(), knowledge_hub::app::StartupError> {
    let db = prepare_database(&cli.settings.database_url).await?;
    for line in bootstrap::operators_log(&db, limit).await? {
        println!("{line}");
    }
    Ok(())
}

async fn backup(cli: &Cli, destination: &std::path::Path) -> Result<(), knowledge_hub::app::StartupError> {
    let bytes = knowledge_hub::db::backup(&cli.settings.database_url, destination).await?;
    eprintln!("Backed up {} to {} ({bytes} bytes).", cli.settings.database_url, destination.display());
    Ok(())
}

async fn demo(cli: &Cli) -> Result<(), knowledge_hub::app::StartupError> {
    let db = prepare_database(&cli.settings.database_url).await?;
    let tokens = bootstrap::demo(&db).await?;
    println!("Demo people loaded. Their tokens (valid 30 days, shown once):\n");
    for (who, role, secret) in &tokens {
        println!("  {role:<20} {who:<42} {secret}");
    }
    println!(
        "\nStart the hub (`cargo run --release`), open http://{}/ and paste under Headers:",
        cli.settings.bind
    );
    println!("  {{\"Authorization\": \"Bearer <token>\"}}");
    Ok(())
}
