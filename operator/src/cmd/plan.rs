//! `netwright plan`: show what reconciling a file would do, changing nothing. Also the
//! loading of a Network file and the opening of its local network that every reconciling
//! command shares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use netwright_crds::validate::Severity;
use netwright_crds::{effective_spec, EffectiveSpec};
use netwright_operator::backend::Backend;
use netwright_operator::local::{LocalBackend, LocalOptions};
use netwright_operator::plan::plan;
use netwright_operator::plan::Risk;
use netwright_operator::reconcile::halt::public_key_of;
use netwright_operator::reconcile::record::summary_json;
use netwright_operator::reconcile::sink::key_paths;
use netwright_operator::reconcile::{approval::unsafe_reasons, check_log};
use netwright_receipts::keys::load_verifying_key;
use netwright_receipts::TrustedKeys;
use serde_json::json;

use super::validate::{check_bytes, print_human};
use super::{exit_invalid, exit_ok};

/// Default working directory of local networks.
pub const DEFAULT_HOME: &str = ".netwright";

/// File name, in a network's directory, of the copy of the Network document last applied.
pub const APPLIED_SPEC: &str = "network.yaml";

/// File name, in a network's directory, of the receipt log.
pub const RECEIPT_LOG: &str = "receipts.log";

/// The arguments every command that reconciles a file takes: the file and where its network lives.
#[derive(Debug, clap::Args)]
pub struct NetworkFile {
    /// The Network YAML file (one document).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Working directory holding the networks (keys, state, logs, receipts).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_HOME)]
    pub home: PathBuf,
}

/// Arguments of `netwright plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: NetworkFile,
    /// Output format: `text` or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// One JSON object on standard output, for tools.
    Json,
}

/// A validated Network file.
#[derive(Debug)]
pub struct LoadedSpec {
    /// The file.
    pub path: PathBuf,
    /// Its bytes (what receipts digest).
    pub bytes: Vec<u8>,
    /// `metadata.name`: the network's name and directory.
    pub name: String,
    /// The spec with defaults applied.
    pub spec: EffectiveSpec,
}

/// Reads and validates `path`. Invalid files get their diagnostics printed (as `netwright
/// validate` prints them) and `Err(exit code 1)`; unreadable files are an error. Warnings
/// are printed on standard error.
pub fn load_spec(path: &Path) -> anyhow::Result<Result<LoadedSpec, ExitCode>> {
    load(path, true)
}

fn load(path: &Path, warn: bool) -> anyhow::Result<Result<LoadedSpec, ExitCode>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let result = check_bytes(name.clone(), &bytes)?;
    if !result.valid {
        print_human(&result);
        return Ok(Err(exit_invalid()));
    }
    if result.documents.len() != 1 {
        eprintln!(
            "{name}: error: holds {} Network documents; give one document per file",
            result.documents.len()
        );
        return Ok(Err(exit_invalid()));
    }
    let Some(document) = result.documents.into_iter().next() else {
        return Ok(Err(exit_invalid()));
    };
    for d in document
        .diagnostics
        .iter()
        .filter(|d| warn && d.severity == Severity::Warning)
    {
        eprintln!(
            "{name}:{}:{}: warning: {}: {}",
            d.line, d.column, d.path, d.message
        );
    }
    let Some(network) = document.network else {
        eprintln!("{name}: error: the document could not be read as a Network");
        return Ok(Err(exit_invalid()));
    };
    let Some(network_name) = network.metadata.name.clone() else {
        eprintln!("{name}: error: metadata.name: missing; it names the network");
        return Ok(Err(exit_invalid()));
    };
    Ok(Ok(LoadedSpec {
        path: path.to_owned(),
        bytes,
        name: network_name,
        spec: effective_spec(&network.spec),
    }))
}

/// Reads the copy of the Network document last applied to a network directory.
pub fn load_applied(network_dir: &Path) -> anyhow::Result<Option<LoadedSpec>> {
    let path = network_dir.join(APPLIED_SPEC);
    if !path.is_file() {
        return Ok(None);
    }
    match load(&path, false)? {
        Ok(loaded) => Ok(Some(loaded)),
        Err(_) => anyhow::bail!("{}: the applied copy no longer validates", path.display()),
    }
}

/// Opens the local network `network` under `home`.
pub fn open_backend(
    home: &Path,
    network: &str,
    anvil_bin: Option<PathBuf>,
) -> anyhow::Result<LocalBackend> {
    let options = LocalOptions {
        root: home.to_owned(),
        network: network.to_owned(),
        node_bin: None,
        anvil_bin,
    };
    Ok(LocalBackend::open(options)?)
}

/// The halt in force for a network, if its receipt log and the orchestrator's public key
/// exist (reads only).
pub fn current_halt(
    home: &Path,
    network_dir: &Path,
) -> anyhow::Result<Option<netwright_operator::reconcile::Halt>> {
    let log = network_dir.join(RECEIPT_LOG);
    let (private, _) = key_paths(home);
    let public = public_key_of(&private);
    if !log.is_file() || !public.is_file() {
        return Ok(None);
    }
    let mut trusted = TrustedKeys::new();
    trusted.insert(load_verifying_key(&public)?);
    let bytes = std::fs::read(&log).with_context(|| format!("reading {}", log.display()))?;
    Ok(check_log(&bytes, &trusted))
}

/// Runs `netwright plan`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let NetworkFile { file, home } = &args.target;
    let loaded = match load_spec(file)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let mut backend = open_backend(home, &loaded.name, None)?;
    let observed = backend.observe(&loaded.spec)?;
    let plan = match plan(&loaded.spec, &observed) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("{}: error: {error}", file.display());
            return Ok(exit_invalid());
        }
    };
    let halt = current_halt(home, backend.network_dir())?;
    let digest = plan.digest();
    match args.output {
        Output::Json => {
            let out = json!({
                "network": loaded.name,
                "digest": digest.to_string(),
                "risk": plan.risk(),
                "needsApproval": plan.risk() == Risk::Unsafe,
                "unsafeReasons": unsafe_reasons(&plan),
                "plan": plan,
                "observed": summary_json(&observed.summary()),
                "halted": halt.as_ref().map(ToString::to_string),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Output::Text => {
            println!("network {}", loaded.name);
            print!("{plan}");
            if plan.risk() == Risk::Unsafe {
                println!(
                    "unsafe: `netwright apply {} --approve {digest}` applies it",
                    file.display()
                );
            }
            if let Some(halt) = halt {
                println!("halted: {halt}; apply will refuse until a human acts");
            }
        }
    }
    Ok(exit_ok())
}
