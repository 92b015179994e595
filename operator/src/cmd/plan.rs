//! `netwright plan`: show what reconciling a file would do, changing nothing (through
//! `service::preview`). Also the printing of a Network file's load errors and the opening of
//! its local network that every reconciling command shares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use netwright_operator::backend::local::{LocalBackend, LocalOptions};
use netwright_operator::plan::Risk;
use netwright_operator::reconcile::approval::unsafe_reasons;
use netwright_operator::reconcile::record::summary_json;
use netwright_operator::reconcile::Options;
use netwright_operator::service::{self, load_document, DocumentError, Preview, ServiceError};
use serde_json::json;

pub use netwright_operator::service::LoadedSpec;

use super::validate::{print_human, FileResult};
use super::{exit_invalid, exit_ok};

/// Default working directory of local networks.
pub const DEFAULT_HOME: &str = ".netwright";

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

/// Reads and validates `path` through the service. Invalid files get their diagnostics
/// printed (as `netwright validate` prints them) and `Err(exit code 1)`; unreadable files are
/// an error. Warnings are printed on standard error.
pub fn load_spec(path: &Path) -> anyhow::Result<Result<LoadedSpec, ExitCode>> {
    match load_document(path) {
        Ok(loaded) => {
            let name = path.display();
            for d in &loaded.warnings {
                eprintln!(
                    "{name}:{}:{}: warning: {}: {}",
                    d.line, d.column, d.path, d.message
                );
            }
            Ok(Ok(loaded))
        }
        Err(error) => print_document_error(error).map(Err),
    }
}

/// Prints why a document is unusable; an unreadable file is returned as an error.
fn print_document_error(error: DocumentError) -> anyhow::Result<ExitCode> {
    match error {
        DocumentError::Read { path, source } => {
            Err(anyhow::Error::new(source).context(format!("reading {}", path.display())))
        }
        DocumentError::Invalid { path, documents } => {
            print_human(&FileResult {
                file: path.display().to_string(),
                valid: false,
                error: None,
                documents,
            });
            Ok(exit_invalid())
        }
        other => {
            eprintln!("{}", other.to_string().replacen(": ", ": error: ", 1));
            Ok(exit_invalid())
        }
    }
}

/// Reads the copy of the Network document last applied to a network directory.
pub fn load_applied(network_dir: &Path) -> anyhow::Result<Option<LoadedSpec>> {
    match service::load_applied(network_dir) {
        Ok(loaded) => Ok(loaded),
        Err(DocumentError::Read { path, source }) => {
            Err(anyhow::Error::new(source).context(format!("reading {}", path.display())))
        }
        Err(_) => anyhow::bail!(
            "{}: the applied copy no longer validates",
            network_dir.join(service::APPLIED_SPEC).display()
        ),
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

/// Runs `netwright plan`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let NetworkFile { file, home } = &args.target;
    let loaded = match load_spec(file)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let mut backend = open_backend(home, &loaded.name, None)?;
    let dir = backend.network_dir().to_owned();
    let Preview {
        observed,
        plan,
        digest,
        halt,
    } = match super::block_on(service::preview(
        home,
        &dir,
        &mut backend,
        &loaded,
        &Options {
            cancel: super::interrupt()?,
            ..Options::default()
        },
    ))? {
        Ok(preview) => preview,
        Err(ServiceError::Plan { path, error }) => {
            eprintln!("{}: error: {error}", path.display());
            return Ok(exit_invalid());
        }
        Err(error) => return Err(error.into()),
    };
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
