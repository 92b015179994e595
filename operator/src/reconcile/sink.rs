//! Receipts of reconciliations, written to a network's receipt log and signed with the
//! orchestrator's key.
//!
//! The key is created once at `<root>/orchestrator.key` (private, mode 0600) and
//! `<root>/orchestrator.pub`, in the receipts crate's key file format, and never
//! regenerated. The private key is generated in a staging directory and linked into place
//! whole ([`crate::durable::create_new_atomically`]); the public key is derived from it and
//! written again whenever it is missing or does not match, so a writer killed at any point
//! leaves no key, or a whole one. The subject of every receipt is the spec file's SHA-256 and BLAKE3, and its
//! Git commit when the file is tracked and unchanged in a Git work tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use netwright_receipts::keys::{
    generate_key_files, load_signer, load_verifying_key, public_key_text, KeyFileError,
};
use netwright_receipts::{
    DigestSet, Draft, Kind, LogError, LogOptions, LogWriter, Signer, Subject, Timestamp,
};
use serde_json::{Map, Value};

use super::engine::ReceiptSink;

/// Base name of the orchestrator's key files under the root directory.
pub const KEY_NAME: &str = "orchestrator";

/// Why a receipt could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The orchestrator's key could not be created or read.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The log could not be opened or appended to.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A key file could not be written durably.
    #[error(transparent)]
    Durable(#[from] crate::durable::DurableError),
}

/// Paths of the orchestrator's key files under `root`.
pub fn key_paths(root: &Path) -> (PathBuf, PathBuf) {
    (
        root.join(format!("{KEY_NAME}.key")),
        root.join(format!("{KEY_NAME}.pub")),
    )
}

/// Loads the orchestrator's key under `root`, creating it the first time (see the module
/// docs for how it survives a writer killed half-way).
pub fn orchestrator_key(root: &Path) -> Result<Signer, SinkError> {
    let (private, public) = key_paths(root);
    if !private.exists() {
        std::fs::create_dir_all(root).map_err(|source| KeyFileError::Io {
            path: root.to_owned(),
            source,
        })?;
        let created = crate::durable::create_new_atomically(&private, |staged| {
            let dir = staged.parent().unwrap_or(root);
            generate_key_files(dir, KEY_NAME).map(drop)
        });
        match created {
            Ok(generated) => generated?,
            Err(crate::durable::DurableError::AlreadyExists { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let signer = load_signer(&private)?;
    let matches = load_verifying_key(&public).is_ok_and(|key| key == signer.verifying_key());
    if !matches {
        crate::durable::write_atomically(
            &public,
            public_key_text(&signer.verifying_key()).as_bytes(),
        )?;
    }
    Ok(signer)
}

/// The subject of receipts about the spec file `path` with content `bytes`.
pub fn spec_subject(path: &Path, bytes: &[u8]) -> Subject {
    Subject {
        spec_digest: DigestSet::of(bytes),
        git_commit: git_commit(path),
    }
}

/// The `HEAD` commit of the Git work tree holding `path`, when `path` is tracked and has no
/// uncommitted change; `None` otherwise (not a repository, no `git`, untracked or edited).
pub fn git_commit(path: &Path) -> Option<String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name()?;
    let git = |args: &[&std::ffi::OsStr]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let tracked = git(&["ls-files".as_ref(), "--error-unmatch".as_ref(), name])?;
    if tracked.is_empty() {
        return None;
    }
    let changes = git(&[
        "status".as_ref(),
        "--porcelain".as_ref(),
        "--".as_ref(),
        name,
    ])?;
    if !changes.is_empty() {
        return None;
    }
    let head = git(&["rev-parse".as_ref(), "HEAD".as_ref()])?;
    let valid = matches!(head.len(), 40 | 64)
        && head
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then_some(head)
}

/// A network's receipt log, held open (and locked) while a reconciliation runs.
#[derive(Debug)]
pub struct LogSink {
    writer: LogWriter,
    subject: Subject,
    approver: String,
}

impl LogSink {
    /// Opens (or creates) the log at `log` for `network`, signing with `signer`; receipts
    /// are about `subject`.
    pub fn open(
        log: &Path,
        network: &str,
        signer: Signer,
        subject: Subject,
    ) -> Result<Self, SinkError> {
        let approver = signer.id().to_string();
        let options = LogOptions {
            network: network.to_owned(),
            origin: None,
            checkpoint_every: None,
        };
        let writer = LogWriter::open(log, signer, options)?;
        Ok(Self {
            writer,
            subject,
            approver,
        })
    }

    /// Number of receipts in the log.
    pub fn len(&self) -> u64 {
        self.writer.len()
    }

    /// Whether the log holds no receipt.
    pub fn is_empty(&self) -> bool {
        self.writer.is_empty()
    }
}

impl ReceiptSink for LogSink {
    fn approver(&self) -> String {
        self.approver.clone()
    }

    fn append(&mut self, kind: Kind, body: Map<String, Value>) -> Result<(), SinkError> {
        let draft = Draft {
            kind,
            time: Timestamp::now(),
            subject: self.subject.clone(),
            body,
        };
        self.writer.append(draft)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_and_a_missing_or_wrong_public_key_is_derived_again() {
        let root = tempfile::tempdir().expect("tempdir");
        let (private, public) = key_paths(root.path());
        let first = orchestrator_key(root.path()).expect("created");
        let private_bytes = std::fs::read(&private).expect("private key");
        assert_eq!(
            load_verifying_key(&public).expect("public key"),
            first.verifying_key()
        );

        // A writer killed after the private key landed and before the public one did.
        std::fs::remove_file(&public).expect("remove public");
        let again = orchestrator_key(root.path()).expect("loaded");
        assert_eq!(again.id(), first.id(), "never regenerated");
        assert_eq!(
            load_verifying_key(&public).expect("derived"),
            first.verifying_key()
        );

        // A public key that names another key is replaced by the right one.
        let other = tempfile::tempdir().expect("tempdir");
        orchestrator_key(other.path()).expect("another key");
        std::fs::copy(key_paths(other.path()).1, &public).expect("copy");
        orchestrator_key(root.path()).expect("loaded");
        assert_eq!(
            load_verifying_key(&public).expect("fixed"),
            first.verifying_key()
        );
        assert_eq!(std::fs::read(&private).expect("private"), private_bytes);
    }

    #[test]
    fn a_staging_directory_left_by_a_killed_writer_is_not_a_key() {
        let root = tempfile::tempdir().expect("tempdir");
        let staging = root.path().join(".staging-leftover");
        generate_key_files(&staging, KEY_NAME).expect("staged key");
        let (private, _) = key_paths(root.path());
        assert!(!private.exists());
        let signer = orchestrator_key(root.path()).expect("created");
        let staged = load_signer(&staging.join(format!("{KEY_NAME}.key"))).expect("staged");
        assert_ne!(
            signer.id(),
            staged.id(),
            "the leftover is not taken as the key"
        );
    }
}
