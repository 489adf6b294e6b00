//! `consult-server`: loads the configuration, sets up logging to stderr, serves until SIGINT or
//! SIGTERM. Prints one line to stdout once listening, which scripts and tests wait for.
//! `consult-server check-jitsi` checks the configured Jitsi deployment instead.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use consult_server::jitsi::check::{self, COMMAND_TIMEOUT};
use consult_server::{serve, Cli, Command, ServerConfig, ShutdownHandle};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match ServerConfig::load(&cli) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("consult-server: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = init_logging(&config.log) {
        eprintln!(
            "consult-server: invalid log filter {:?}: {error}",
            config.log
        );
        return ExitCode::from(2);
    }

    if cli.command == Some(Command::CheckJitsi) {
        return check_jitsi(&config).await;
    }

    let jitsi = config.jitsi.clone();
    let server = match serve(config).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(error = %consult_server::error::error_chain(&error), "cannot start");
            return ExitCode::FAILURE;
        }
    };
    announce(&server.base_url());
    // After the listening line, in the background: a deployment that is slow or down only warns.
    if let Some(jitsi) = jitsi {
        check::spawn_startup_check(jitsi);
    }
    tokio::spawn(stop_on_signal(server.shutdown_handle()));
    match server.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %consult_server::error::error_chain(&error), "server failed");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(filter)?)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in files or journald.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
}

/// `check-jitsi`: the report on stdout; 0 all good, 1 a check failed, 2 nothing to check.
async fn check_jitsi(config: &ServerConfig) -> ExitCode {
    let Some(jitsi) = &config.jitsi else {
        eprintln!(
            "consult-server: no [jitsi] table is configured, so there is nothing to check: set it \
             in the file named by --config or with CONSULT_SERVER_JITSI__<KEY> variables"
        );
        return ExitCode::from(2);
    };
    let report = match check::check(jitsi, COMMAND_TIMEOUT).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("consult-server: cannot check the Jitsi deployment: {error}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = write!(stdout, "{report}").and_then(|()| stdout.flush()) {
        eprintln!("consult-server: cannot write the report: {error}");
    }
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The startup contract: exactly this line on stdout, flushed, once the socket listens;
/// `https://` when it serves TLS itself.
fn announce(url: &str) {
    let mut stdout = std::io::stdout().lock();
    let written =
        writeln!(stdout, "consult-server listening on {url}").and_then(|()| stdout.flush());
    if let Err(error) = written {
        tracing::warn!(%error, "cannot write the listening line to stdout");
    }
}

async fn stop_on_signal(shutdown: ShutdownHandle) {
    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.trigger();
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
