//! `netwright validate`: check Network documents and report every problem with its location.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use netwright_crds::validate::{validate_bytes, DocumentReport, Severity};
use serde::Serialize;

/// Arguments of `netwright validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Network YAML files to check (`-` reads standard input). Each document of a
    /// multi-document file is checked on its own.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format: `human` (one line per problem, `file:line:column: ...`) or `json`.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// `file:line:column: severity: path: message`, then a summary line per file.
    Human,
    /// One JSON object on standard output, for tools.
    Json,
}

/// The result for one file.
#[derive(Debug, Serialize)]
pub(crate) struct FileResult {
    pub(crate) file: String,
    pub(crate) valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    pub(crate) documents: Vec<DocumentReport>,
}

/// The whole run, as printed with `--output json`.
#[derive(Debug, Serialize)]
struct RunResult {
    valid: bool,
    files: Vec<FileResult>,
}

/// Runs `netwright validate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        files.push(check_file(path)?);
    }
    let io_failure = files.iter().any(|f| f.error.is_some());
    let valid = files.iter().all(|f| f.valid);
    match args.output {
        Output::Json => {
            let run = RunResult { valid, files };
            println!("{}", serde_json::to_string_pretty(&run)?);
        }
        Output::Human => {
            for file in &files {
                print_human(file);
            }
        }
    }
    Ok(if io_failure {
        super::exit_usage()
    } else if valid {
        super::exit_ok()
    } else {
        super::exit_invalid()
    })
}

fn check_file(path: &PathBuf) -> anyhow::Result<FileResult> {
    let name = path.display().to_string();
    let bytes = if name == "-" {
        let mut buffer = Vec::new();
        std::io::stdin().read_to_end(&mut buffer).map(|_| buffer)
    } else {
        std::fs::read(path)
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(error) => {
            return Ok(FileResult {
                file: name,
                valid: false,
                error: Some(format!("cannot read: {error}")),
                documents: Vec::new(),
            })
        }
    };
    check_bytes(name, &bytes)
}

/// Validates the content of the file named `name` (as printed in diagnostics).
pub(crate) fn check_bytes(name: String, bytes: &[u8]) -> anyhow::Result<FileResult> {
    let documents = validate_bytes(bytes)?;
    Ok(FileResult {
        file: name,
        valid: documents.iter().all(|d| d.valid),
        error: None,
        documents,
    })
}

/// Prints one file's diagnostics and summary line, as `netwright validate` does.
pub(crate) fn print_human(file: &FileResult) {
    if let Some(error) = &file.error {
        eprintln!("{}: error: {error}", file.file);
        return;
    }
    let several = file.documents.len() > 1 || file.documents.iter().any(|d| d.index > 1);
    let (mut errors, mut warnings) = (0, 0);
    for doc in &file.documents {
        errors += doc.errors();
        warnings += doc.warnings();
        for d in &doc.diagnostics {
            let mut line = format!("{}:{}:{}: {}: ", file.file, d.line, d.column, d.severity);
            if several {
                line.push_str(&format!("document {}: ", doc.index));
            }
            if !d.path.is_empty() {
                line.push_str(&format!("{}: ", d.path));
            }
            line.push_str(&d.message);
            println!("{line}");
        }
    }
    let documents = plural(file.documents.len(), "document");
    let warnings_text = if warnings > 0 {
        format!(", {}", plural(warnings, "warning"))
    } else {
        String::new()
    };
    if errors == 0
        && file
            .documents
            .iter()
            .all(|d| d.diagnostics.iter().all(|x| x.severity != Severity::Error))
    {
        println!("{}: valid ({documents}{warnings_text})", file.file);
    } else {
        println!(
            "{}: invalid ({documents}, {}{warnings_text})",
            file.file,
            plural(errors, "error")
        );
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
