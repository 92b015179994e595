//! `netwright logs`: print (and follow) a node's log.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::exit_ok;
use super::plan::open_backend;

/// Arguments of `netwright logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The network's name (`metadata.name`).
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// The node's name (for example `validator-0`).
    #[arg(value_name = "NODE")]
    pub node: String,
    /// Working directory holding the networks.
    #[arg(long, value_name = "DIR", default_value = super::plan::DEFAULT_HOME)]
    pub home: PathBuf,
    /// Keep printing what the node writes until interrupted.
    #[arg(short = 'f', long)]
    pub follow: bool,
}

/// Runs `netwright logs`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let backend = open_backend(&args.home, &args.network, None)?;
    let path = backend.log_path(&args.node)?;
    let mut stdout = std::io::stdout().lock();
    let mut offset = 0u64;
    let mut buffer = Vec::new();
    loop {
        match std::fs::File::open(&path) {
            Ok(mut file) => {
                let len = file
                    .metadata()
                    .with_context(|| format!("reading {}", path.display()))?
                    .len();
                if len < offset {
                    offset = 0; // the log was cut or replaced: start over
                }
                file.seek(SeekFrom::Start(offset))
                    .with_context(|| format!("reading {}", path.display()))?;
                buffer.clear();
                file.read_to_end(&mut buffer)
                    .with_context(|| format!("reading {}", path.display()))?;
                offset += buffer.len() as u64;
                stdout.write_all(&buffer)?;
                stdout.flush()?;
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && args.follow => {}
            Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
        }
        if !args.follow {
            return Ok(exit_ok());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
