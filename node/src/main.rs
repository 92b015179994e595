//! `netwright-node`: runs one node of a netwright network.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use netwright_node::config::{Config, LogFormat};
use netwright_node::home::Home;

/// A node of a netwright proof-of-stake relay network.
#[derive(Debug, Parser)]
#[command(name = "netwright-node", disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Creates a node home: node key (mode 0600) and a default config.toml. Never overwrites.
    Init {
        /// Node home directory.
        #[arg(long)]
        home: PathBuf,
        /// Node name written into config.toml.
        #[arg(long, default_value = "node")]
        moniker: String,
    },
    /// Runs the node from its home (config.toml, genesis.json, node key, data/).
    Run {
        /// Node home directory.
        #[arg(long)]
        home: PathBuf,
    },
    /// Creates homes for a local network: N validators on loopback, peered with each other,
    /// sharing one genesis in which each is funded and staked, and K full nodes.
    Testnet {
        /// Number of validators.
        #[arg(long)]
        validators: usize,
        /// Number of full nodes (homes after the validators; keys not in genesis).
        #[arg(long, default_value_t = 0)]
        full_nodes: usize,
        /// Directory receiving node0/, node1/, ...
        #[arg(long)]
        out: PathBuf,
        /// Node i listens on base-port + 2i (p2p) and base-port + 2i + 1 (RPC).
        #[arg(long, default_value_t = 26656)]
        base_port: u16,
        /// Chain id of the network.
        #[arg(long, default_value = "netwright-local")]
        chain_id: String,
    },
    /// Offers signed transfers at a fixed rate over RPC endpoints and reports offered, accepted
    /// and committed tx/s and commit latency percentiles.
    Loadgen {
        /// RPC endpoint, `http://HOST:PORT`; repeat to spread the load.
        #[arg(long, required = true, num_args = 1..)]
        rpc: Vec<String>,
        /// Offered transactions per second.
        #[arg(long)]
        rate: f64,
        /// Length of the load window: `10s`, `500ms`, `2m` or seconds.
        #[arg(long)]
        duration: String,
        /// Node home whose funded account (node_key.json) funds the senders; repeatable.
        #[arg(long, num_args = 1..)]
        key_home: Vec<PathBuf>,
        /// Number of fresh sender accounts.
        #[arg(long, default_value_t = 64)]
        accounts: usize,
    },
    /// Prints the version.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Version => {
            println!("netwright-node {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Cmd::Init { home, moniker } => {
            let home = Home::new(home);
            let config = Config {
                moniker,
                ..Config::default()
            };
            let key = home.init(&config)?;
            println!("initialised {}", home.root().display());
            println!("peer_id: {}", key.peer_id());
            println!("public_key: {}", key.public_hex());
            Ok(())
        }
        Cmd::Testnet {
            validators,
            full_nodes,
            out,
            base_port,
            chain_id,
        } => {
            let genesis_time_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("reading the system clock")?
                .as_millis() as u64;
            let nodes = netwright_node::testnet::create(&netwright_node::testnet::TestnetSpec {
                validators,
                full_nodes,
                out,
                base_port,
                chain_id,
                genesis_time_ms,
            })?;
            for n in nodes {
                println!(
                    "{}\trpc http://{}\tpeer_id {}",
                    n.home.display(),
                    n.rpc,
                    n.peer_id
                );
            }
            Ok(())
        }
        Cmd::Loadgen {
            rpc,
            rate,
            duration,
            key_home,
            accounts,
        } => {
            let spec = netwright_node::loadgen::LoadSpec {
                rpc,
                rate,
                duration: netwright_node::loadgen::parse_duration(&duration)?,
                key_homes: key_home,
                accounts,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let report = runtime.block_on(netwright_node::loadgen::run(&spec, &mut |note| {
                eprintln!("loadgen: {note}")
            }))?;
            print!("{}", report.render());
            Ok(())
        }
        Cmd::Run { home } => {
            let home = Home::new(home);
            let loaded = home.load()?;
            init_logging(&loaded.config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(async move {
                let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
                tokio::spawn(async move {
                    wait_for_signal().await;
                    let _ = stop_tx.send(true);
                });
                netwright_node::runtime::run(loaded, home.data_dir(), stop_rx).await
            })?;
            Ok(())
        }
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level).with_context(|| {
        format!(
            "config.toml: field `log.level`: value `{}`",
            config.log.level
        )
    })?;
    // A closed stderr (e.g. the supervisor went away) must not bring the node down.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    let result = match config.log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("initialising logging: {e}"))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
