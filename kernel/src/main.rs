//! `aether`: starts the kernel. Parses flags, loads the config, installs logging and signal
//! handling, and hands everything else to the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use aether_kernel::config::apply_env;
use aether_kernel::config::cluster::Role;
use aether_kernel::data_lock::DataDirLock;
use aether_kernel::{Config, Kernel, serve};
use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The Aether kernel: serves the desktop and runs the message bus.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "AETHER_LISTEN")]
    listen: Option<SocketAddr>,
    /// YAML config file (default: ./aether.yaml when it exists).
    #[arg(long, env = "AETHER_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder: task history, compiled modules (overrides `data_dir` and AETHER_DATA_DIR).
    /// One kernel per folder.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the effective configuration (secrets masked) and exit.
    #[arg(long)]
    print_config: bool,
    /// Allow a non-loopback `--listen` without a `client_token`. Anyone who can reach the port
    /// can then drive the kernel.
    #[arg(long)]
    insecure_no_token: bool,
    /// What this kernel does in its cluster (repeatable; overrides `cluster.roles`): `runner`
    /// alone runs WASM programs for the cluster's gateways, with no HTTP and no desktop.
    #[arg(long = "role", value_enum)]
    roles: Vec<Role>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AETHER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .init();
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None if std::path::Path::new("aether.yaml").exists() => {
            Config::load(std::path::Path::new("aether.yaml"))?
        }
        None => Config::default(),
    };
    let mut config = apply_env(config, |name| std::env::var(name).ok())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = Some(dir);
    }
    if !args.roles.is_empty() {
        let Some(cluster) = config.cluster.as_mut() else {
            anyhow::bail!(
                "--role needs a cluster: add a `cluster:` block with `nats_url` to the config"
            );
        };
        cluster.roles = args.roles.clone();
        cluster.roles.sort_by_key(|r| r.as_str());
        cluster.roles.dedup();
    }
    config.validate()?;
    if args.print_config {
        print!("{}", config.masked_yaml());
        return Ok(());
    }
    let gateway = config
        .cluster
        .as_ref()
        .is_none_or(|c| c.plays(Role::Gateway));
    if gateway {
        config.check_exposure(args.insecure_no_token)?;
    }
    // One kernel per data folder: held until the kernel ends.
    let _data_lock = match config.data_dir() {
        Some(dir) => Some(DataDirLock::acquire(&dir)?),
        None => None,
    };
    match aether_kernel::app::raise_open_file_limit() {
        Ok(limit) => tracing::info!("open-file limit: {limit}"),
        Err(e) => tracing::warn!(
            "cannot raise the open-file limit ({e}); many connections may fail with `Too many open files`: raise `ulimit -n`"
        ),
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    if !gateway {
        // A runner: the bus, the services and the cluster link, no HTTP.
        let kernel = Kernel::new(config, shutdown.clone());
        tracing::info!(
            version = aether_kernel::VERSION,
            "Aether runner up; it takes the cluster's WASM spawns"
        );
        shutdown.cancelled().await;
        drop(kernel);
        tracing::info!("stopped");
        return Ok(());
    }
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {}; is another kernel running there?",
            config.listen
        )
    })?;
    let addr = listener.local_addr()?;

    let kernel = match config.desktop_dir.clone() {
        Some(dir) => {
            let table = aether_kernel::assets::folder::load(&dir)?;
            tracing::info!("serving the desktop from {}", dir.display());
            Kernel::with_assets(config, shutdown, table)
        }
        None => Kernel::new(config, shutdown),
    };
    if kernel.assets.is_empty() {
        tracing::warn!("the desktop is not embedded; build it with `cargo xtask run`");
    }
    tracing::info!(
        version = aether_kernel::VERSION,
        "Aether kernel listening on http://{addr}"
    );
    serve(listener, kernel).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: flushing connections");
    shutdown.cancel();
}
