//! `netwright receipts`: append, checkpoint, show, verify and prove receipt logs, and
//! check printed proofs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use netwright_receipts::checkpoint::{checkpoints_dir, latest_note, origin_for};
use netwright_receipts::jcs::nesting_depth;
use netwright_receipts::keys::{load_signer, load_verifying_key};
use netwright_receipts::log::split_lines;
use netwright_receipts::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
    ConsistencyProof, Hash, InclusionProof,
};
use netwright_receipts::statement::MAX_BODY_DEPTH;
use netwright_receipts::{
    open_line, repair_torn_tail, verify_bytes, Checkpoint, DigestSet, Draft, Kind, LogOptions,
    LogWriter, StopRule, Subject, Timestamp, TrustedKeys, VerifyOptions,
};
use serde_json::{json, Value};

use super::{exit_invalid, exit_ok};

/// Subcommands of `netwright receipts`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Verify a log: canonical form, signatures, chain, sequence, and a checkpoint.
    /// Exit 0 when everything holds, 1 when verification fails, 2 on usage or I/O errors.
    Verify {
        /// The receipt log.
        log: PathBuf,
        /// Trusted public key file (repeatable).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// A signed checkpoint note the log must match (size and root).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Worker threads (0: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Print receipts: a summary line each, or one statement in full with --seq.
    /// Signatures are not checked here; use `verify`.
    Show {
        /// The receipt log.
        log: PathBuf,
        /// Print this receipt's statement, digests and signer.
        #[arg(long)]
        seq: Option<u64>,
    },
    /// Print an inclusion proof for one receipt, or a consistency proof from an older
    /// checkpoint, against the given or latest checkpoint (JSON).
    Prove {
        /// The receipt log.
        log: PathBuf,
        /// Receipt to prove inclusion of.
        #[arg(long, conflicts_with = "from")]
        seq: Option<u64>,
        /// Older checkpoint note to prove consistency from.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Checkpoint note to prove against (default: latest in LOG.checkpoints/).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Trusted public key file to check the checkpoint signatures with (repeatable).
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
    },
    /// Check a proof printed by `prove`: the checkpoint signature(s) with the key, the
    /// proof against the checkpoint root and, with --log, the leaf against the log.
    /// Exit 0 when the proof holds, 1 when it does not, 2 on usage or I/O errors.
    VerifyProof {
        /// The proof (JSON, as `prove` prints it).
        proof: PathBuf,
        /// Trusted public key file for the checkpoint signatures (repeatable).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// The receipt log the proof must be about.
        #[arg(long)]
        log: Option<PathBuf>,
    },
    /// Append receipts (one group commit) signed with a private key.
    Append {
        /// The receipt log (created if missing).
        log: PathBuf,
        /// Private key file.
        #[arg(long)]
        key: PathBuf,
        /// Network name.
        #[arg(long)]
        network: String,
        /// Receipt kind (reconcile, gate, plan, approval, stop, checkpoint, ...).
        #[arg(long)]
        kind: String,
        /// The network spec file; its SHA-256 and BLAKE3 become the subject.
        #[arg(long)]
        spec: PathBuf,
        /// Git commit of the spec (40 or 64 lowercase hex).
        #[arg(long)]
        git_commit: Option<String>,
        /// Body as a JSON object (integers only, nested at most 64 deep).
        #[arg(long, default_value = "{}")]
        body: String,
        /// Time (RFC 3339 UTC, e.g. 2025-01-01T00:00:00Z); default now.
        #[arg(long)]
        time: Option<String>,
        /// Number of identical receipts to append in one batch.
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// Write a checkpoint whenever the size passes a multiple of N.
        #[arg(long)]
        checkpoint_every: Option<u64>,
    },
    /// Sign a checkpoint over the whole log into LOG.checkpoints/.
    Checkpoint {
        /// The receipt log.
        log: PathBuf,
        /// Private key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Cut an incomplete final line left by a crash, and report what was cut.
    Repair {
        /// The receipt log.
        log: PathBuf,
    },
}

/// Runs a `netwright receipts` subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify {
            log,
            keys,
            checkpoint,
            threads,
        } => verify(&log, &keys, checkpoint.as_deref(), threads),
        Command::Show { log, seq } => show(&log, seq),
        Command::VerifyProof { proof, keys, log } => verify_proof(&proof, &keys, log.as_deref()),
        Command::Prove {
            log,
            seq,
            from,
            checkpoint,
            keys,
        } => prove(&log, seq, from.as_deref(), checkpoint.as_deref(), &keys),
        Command::Append {
            log,
            key,
            network,
            kind,
            spec,
            git_commit,
            body,
            time,
            count,
            checkpoint_every,
        } => {
            let signer = load_signer(&key)?;
            let spec_bytes =
                std::fs::read(&spec).with_context(|| format!("reading {}", spec.display()))?;
            // Measured before parsing: the parser refuses deep documents with a
            // message that names neither the field nor the limit.
            let depth = nesting_depth(body.as_bytes());
            if depth > MAX_BODY_DEPTH {
                bail!("--body: body nested {depth} deep, limit {MAX_BODY_DEPTH}");
            }
            let body: Value = serde_json::from_str(&body).context("--body is not JSON")?;
            let Value::Object(body) = body else {
                bail!("--body must be a JSON object");
            };
            let kind = Kind::parse(&kind).map_err(anyhow::Error::msg)?;
            let time = match time {
                Some(t) => Timestamp::parse(&t)?,
                None => Timestamp::now(),
            };
            let draft = Draft {
                kind,
                time,
                subject: Subject {
                    spec_digest: DigestSet::of(&spec_bytes),
                    git_commit,
                },
                body,
            };
            let options = LogOptions {
                network,
                origin: None,
                checkpoint_every,
            };
            let mut writer = LogWriter::open(&log, signer, options)?;
            let appended = writer.append_batch(vec![draft; count as usize])?;
            for a in appended {
                println!("seq {} sha256 {}", a.seq, hex::encode(a.digest.sha256));
            }
            Ok(exit_ok())
        }
        Command::Checkpoint { log, key } => {
            let signer = load_signer(&key)?;
            let bytes = read(&log)?;
            let (lines, _) = split_lines(&bytes);
            let Some(last) = lines.last() else {
                bail!("{}: the log is empty; nothing to checkpoint", log.display());
            };
            let network = open_line(&bytes[last.clone()])
                .with_context(|| format!("{}: line {}", log.display(), lines.len()))?
                .receipt
                .network;
            let options = LogOptions {
                network,
                origin: None,
                checkpoint_every: None,
            };
            let mut writer = LogWriter::open(&log, signer, options)?;
            let (cp, path) = writer.checkpoint()?;
            println!("checkpoint size {} written to {}", cp.size, path.display());
            Ok(exit_ok())
        }
        Command::Repair { log } => {
            match repair_torn_tail(&log)? {
                None => println!("{}: no torn tail; nothing cut", log.display()),
                Some(tail) => println!(
                    "{}: cut incomplete line {} at byte offset {} ({} bytes)",
                    log.display(),
                    tail.line,
                    tail.offset,
                    tail.bytes.len()
                ),
            }
            Ok(exit_ok())
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn trusted_keys(paths: &[PathBuf]) -> anyhow::Result<TrustedKeys> {
    let mut trusted = TrustedKeys::new();
    for path in paths {
        trusted.insert(load_verifying_key(path)?);
    }
    Ok(trusted)
}

fn verify(
    log: &Path,
    keys: &[PathBuf],
    checkpoint: Option<&Path>,
    threads: usize,
) -> anyhow::Result<ExitCode> {
    let trusted = trusted_keys(keys)?;
    let checkpoint = match checkpoint {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            match Checkpoint::verify(&text, &trusted) {
                Ok(cp) => Some(cp),
                Err(e) => {
                    println!("FAIL {}: {e}", path.display());
                    return Ok(exit_invalid());
                }
            }
        }
    };
    let bytes = read(log)?;
    let mut options = VerifyOptions::new(&trusted);
    options.checkpoint = checkpoint.as_ref();
    options.threads = threads;
    let report = verify_bytes(&bytes, &options);
    if report.is_ok() {
        let head = report
            .head
            .as_ref()
            .map(|h| format!(", head seq {}", h.seq))
            .unwrap_or_default();
        let against = checkpoint
            .as_ref()
            .map(|c| format!(", matches checkpoint size {}", c.size))
            .unwrap_or_default();
        println!(
            "ok: {} receipts{head}, root {}{against}",
            report.lines,
            hex::encode(report.root)
        );
        return Ok(exit_ok());
    }
    for finding in &report.findings {
        println!("{}: {finding}", log.display());
    }
    if report.omitted > 0 {
        println!(
            "{}: {} more findings not listed",
            log.display(),
            report.omitted
        );
    }
    if let Some(rule) = StopRule::from_report(&report) {
        println!("FAIL {}: {rule}", log.display());
    }
    Ok(exit_invalid())
}

fn show(log: &Path, seq: Option<u64>) -> anyhow::Result<ExitCode> {
    let bytes = read(log)?;
    let (lines, torn) = split_lines(&bytes);
    let mut found = false;
    for (i, range) in lines.iter().enumerate() {
        let line = &bytes[range.clone()];
        let parsed = open_line(line);
        match (&parsed, seq) {
            (Ok(r), Some(want)) if r.receipt.seq == want => {
                found = true;
                let statement: Value = serde_json::from_slice(&r.payload)?;
                let out = json!({
                    "line": i + 1,
                    "keyid": r.keyid.to_string(),
                    "digest": {
                        "sha256": hex::encode(r.digest.sha256),
                        "blake3": hex::encode(r.digest.blake3),
                    },
                    "leafHash": hex::encode(leaf_hash(line)),
                    "statement": statement,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            (_, Some(_)) => {}
            (Ok(r), None) => println!(
                "line {:>6}  seq {:>6}  {:<10}  {}  {}  sha256 {}{}",
                i + 1,
                r.receipt.seq,
                r.receipt.kind,
                r.receipt.time,
                r.receipt.network,
                &hex::encode(r.digest.sha256)[..16],
                match r.receipt.body.get("plan").and_then(Value::as_str) {
                    Some(plan) => format!("  plan {plan}"),
                    None => String::new(),
                }
            ),
            (Err(e), None) => println!("line {:>6}  MALFORMED: {e}", i + 1),
        }
    }
    if let Some(t) = torn {
        println!(
            "line {:>6}  TORN TAIL: {} bytes at offset {} without a final newline",
            t.line,
            t.bytes.len(),
            t.offset
        );
    }
    if let (Some(want), false) = (seq, found) {
        bail!("{}: no readable receipt with seq {want}", log.display());
    }
    Ok(exit_ok())
}

fn load_checkpoint(
    log: &Path,
    given: Option<&Path>,
    trusted: Option<&TrustedKeys>,
) -> anyhow::Result<(Checkpoint, String)> {
    let (path, text) = match given {
        Some(p) => (
            p.to_owned(),
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        ),
        None => latest_note(&checkpoints_dir(log))?.with_context(|| {
            format!(
                "{}: no checkpoint yet; create one with `netwright receipts checkpoint`",
                log.display()
            )
        })?,
    };
    let cp = match trusted {
        Some(t) => Checkpoint::verify(&text, t)
            .with_context(|| format!("checkpoint {}", path.display()))?,
        None => Checkpoint::parse_unverified(&text)
            .with_context(|| format!("checkpoint {}", path.display()))?,
    };
    Ok((cp, text))
}

fn prove(
    log: &Path,
    seq: Option<u64>,
    from: Option<&Path>,
    checkpoint: Option<&Path>,
    keys: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let trusted = if keys.is_empty() {
        None
    } else {
        Some(trusted_keys(keys)?)
    };
    let (cp, note) = load_checkpoint(log, checkpoint, trusted.as_ref())?;
    let bytes = read(log)?;
    let (lines, _) = split_lines(&bytes);
    if cp.size > lines.len() as u64 {
        println!(
            "FAIL {}: log has {} receipts but the checkpoint covers {}: the log was truncated",
            log.display(),
            lines.len(),
            cp.size
        );
        return Ok(exit_invalid());
    }
    let leaves: Vec<Hash> = lines[..cp.size as usize]
        .iter()
        .map(|r| leaf_hash(&bytes[r.clone()]))
        .collect();
    if root(&leaves) != cp.root {
        println!(
            "FAIL {}: the first {} lines do not hash to the checkpoint root",
            log.display(),
            cp.size
        );
        return Ok(exit_invalid());
    }
    let out = match (seq, from) {
        (Some(seq), None) => {
            if seq >= cp.size {
                bail!(
                    "seq {seq} is not covered by the checkpoint (size {}); make a newer checkpoint",
                    cp.size
                );
            }
            let line = &bytes[lines[seq as usize].clone()];
            let receipt = open_line(line).with_context(|| format!("line {}", seq + 1))?;
            if receipt.receipt.seq != seq {
                bail!(
                    "line {} holds seq {}, not {seq}: verify the log first",
                    seq + 1,
                    receipt.receipt.seq
                );
            }
            let proof = inclusion_proof(&leaves, seq)?;
            verify_inclusion(&leaves[seq as usize], &proof, &cp.root)?;
            json!({
                "type": "inclusion",
                "seq": seq,
                "leafIndex": proof.leaf_index,
                "treeSize": proof.tree_size,
                "leafHash": hex::encode(leaves[seq as usize]),
                "line": String::from_utf8_lossy(line),
                "rootHash": hex::encode(cp.root),
                "path": proof.path.iter().map(hex::encode).collect::<Vec<_>>(),
                "checkpoint": note,
            })
        }
        (None, Some(old_path)) => {
            let (old, old_note) = load_checkpoint(log, Some(old_path), trusted.as_ref())?;
            if old.size > cp.size {
                bail!(
                    "older checkpoint size {} exceeds checkpoint size {}",
                    old.size,
                    cp.size
                );
            }
            let proof = consistency_proof(&leaves, old.size)?;
            if let Err(e) = verify_consistency(&old.root, &cp.root, &proof) {
                println!(
                    "FAIL {}: checkpoint size {} is not a prefix of this log: {e}",
                    old_path.display(),
                    old.size
                );
                return Ok(exit_invalid());
            }
            json!({
                "type": "consistency",
                "oldSize": proof.old_size,
                "newSize": proof.new_size,
                "oldRootHash": hex::encode(old.root),
                "newRootHash": hex::encode(cp.root),
                "path": proof.path.iter().map(hex::encode).collect::<Vec<_>>(),
                "oldCheckpoint": old_note,
                "checkpoint": note,
            })
        }
        _ => bail!("give either --seq N (inclusion) or --from OLD_CHECKPOINT (consistency)"),
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(exit_ok())
}

/// A proof that does not hold, or a proof file that cannot be read as one.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ProofFailure(String);

fn failure(message: impl Into<String>) -> ProofFailure {
    ProofFailure(message.into())
}

fn field<'v>(proof: &'v Value, name: &str) -> Result<&'v Value, ProofFailure> {
    proof
        .get(name)
        .ok_or_else(|| failure(format!("field {name} is missing")))
}

fn field_str<'v>(proof: &'v Value, name: &str) -> Result<&'v str, ProofFailure> {
    field(proof, name)?
        .as_str()
        .ok_or_else(|| failure(format!("field {name} must be a string")))
}

fn field_u64(proof: &Value, name: &str) -> Result<u64, ProofFailure> {
    field(proof, name)?
        .as_u64()
        .ok_or_else(|| failure(format!("field {name} must be a non-negative integer")))
}

fn parse_hash(text: &str, name: &str) -> Result<Hash, ProofFailure> {
    netwright_receipts::digest::parse_hex32(text).ok_or_else(|| {
        failure(format!(
            "field {name}: {text:?} is not 64 lowercase hex characters"
        ))
    })
}

fn field_hash(proof: &Value, name: &str) -> Result<Hash, ProofFailure> {
    parse_hash(field_str(proof, name)?, name)
}

fn field_path(proof: &Value) -> Result<Vec<Hash>, ProofFailure> {
    let items = field(proof, "path")?
        .as_array()
        .ok_or_else(|| failure("field path must be an array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = format!("path/{i}");
            let text = item
                .as_str()
                .ok_or_else(|| failure(format!("field {name} must be a string")))?;
            parse_hash(text, &name)
        })
        .collect()
}

/// Checks a note's signature and that the proof's copy of its size and root agree.
fn proof_checkpoint(
    proof: &Value,
    note_field: &str,
    size_field: &str,
    root_field: &str,
    trusted: &TrustedKeys,
) -> Result<Checkpoint, ProofFailure> {
    let note = field_str(proof, note_field)?;
    let cp = Checkpoint::verify(note, trusted)
        .map_err(|e| failure(format!("field {note_field}: {e}")))?;
    let size = field_u64(proof, size_field)?;
    if size != cp.size {
        return Err(failure(format!(
            "field {size_field} is {size} but the signed checkpoint covers {}",
            cp.size
        )));
    }
    let claimed = field_hash(proof, root_field)?;
    if claimed != cp.root {
        return Err(failure(format!(
            "field {root_field} is {} but the signed checkpoint's root is {}",
            hex::encode(claimed),
            hex::encode(cp.root)
        )));
    }
    Ok(cp)
}

/// What a proof that holds establishes, for the success line.
fn check_proof(
    proof: &Value,
    trusted: &TrustedKeys,
    log: Option<(&Path, &[u8])>,
) -> Result<String, ProofFailure> {
    match field_str(proof, "type")? {
        "inclusion" => check_inclusion(proof, trusted, log),
        "consistency" => check_consistency(proof, trusted, log),
        other => Err(failure(format!(
            "field type is {other:?}, expected \"inclusion\" or \"consistency\""
        ))),
    }
}

fn check_inclusion(
    proof: &Value,
    trusted: &TrustedKeys,
    log: Option<(&Path, &[u8])>,
) -> Result<String, ProofFailure> {
    let cp = proof_checkpoint(proof, "checkpoint", "treeSize", "rootHash", trusted)?;
    let index = field_u64(proof, "leafIndex")?;
    let leaf = field_hash(proof, "leafHash")?;
    let line = field_str(proof, "line")?;
    if leaf_hash(line.as_bytes()) != leaf {
        return Err(failure(
            "field line does not hash to field leafHash (leaf hash = SHA-256(0x00 || line))",
        ));
    }
    let receipt = open_line(line.as_bytes())
        .map_err(|e| failure(format!("field line is not a receipt: {e}")))?
        .receipt;
    let seq = field_u64(proof, "seq")?;
    if receipt.seq != index || seq != index {
        return Err(failure(format!(
            "field line holds seq {} and field seq is {seq}, but the leaf index is {index}",
            receipt.seq
        )));
    }
    let expected_origin = origin_for(&receipt.network);
    if cp.origin != expected_origin {
        return Err(failure(format!(
            "checkpoint origin {:?} is not {expected_origin:?}, the origin of network {:?}",
            cp.origin, receipt.network
        )));
    }
    let inclusion = InclusionProof {
        leaf_index: index,
        tree_size: cp.size,
        path: field_path(proof)?,
    };
    verify_inclusion(&leaf, &inclusion, &cp.root)
        .map_err(|e| failure(format!("inclusion proof does not hold: {e}")))?;
    if let Some((path, bytes)) = log {
        let (lines, _) = split_lines(bytes);
        let Some(range) = lines.get(index as usize) else {
            return Err(failure(format!(
                "{} has {} lines, none at leaf index {index}",
                path.display(),
                lines.len()
            )));
        };
        if leaf_hash(&bytes[range.clone()]) != leaf {
            return Err(failure(format!(
                "line {} of {} is not the proven leaf",
                index + 1,
                path.display()
            )));
        }
    }
    Ok(format!(
        "receipt seq {index} is leaf {index} of the tree of size {} signed by checkpoint {}{}",
        cp.size,
        cp.origin,
        log.map(|(p, _)| format!(", and is line {} of {}", index + 1, p.display()))
            .unwrap_or_default()
    ))
}

fn check_consistency(
    proof: &Value,
    trusted: &TrustedKeys,
    log: Option<(&Path, &[u8])>,
) -> Result<String, ProofFailure> {
    let old = proof_checkpoint(proof, "oldCheckpoint", "oldSize", "oldRootHash", trusted)?;
    let new = proof_checkpoint(proof, "checkpoint", "newSize", "newRootHash", trusted)?;
    if old.origin != new.origin {
        return Err(failure(format!(
            "the checkpoints name different logs: {:?} and {:?}",
            old.origin, new.origin
        )));
    }
    let consistency = ConsistencyProof {
        old_size: old.size,
        new_size: new.size,
        path: field_path(proof)?,
    };
    verify_consistency(&old.root, &new.root, &consistency)
        .map_err(|e| failure(format!("consistency proof does not hold: {e}")))?;
    if let Some((path, bytes)) = log {
        let (lines, _) = split_lines(bytes);
        if (lines.len() as u64) < new.size {
            return Err(failure(format!(
                "{} has {} lines but the checkpoint covers {}",
                path.display(),
                lines.len(),
                new.size
            )));
        }
        let leaves: Vec<Hash> = lines[..new.size as usize]
            .iter()
            .map(|r| leaf_hash(&bytes[r.clone()]))
            .collect();
        if root(&leaves) != new.root {
            return Err(failure(format!(
                "the first {} lines of {} do not hash to the checkpoint root",
                new.size,
                path.display()
            )));
        }
    }
    Ok(format!(
        "checkpoint size {} of {} is a prefix of checkpoint size {}{}",
        old.size,
        old.origin,
        new.size,
        log.map(|(p, _)| format!(", which matches {}", p.display()))
            .unwrap_or_default()
    ))
}

fn verify_proof(
    proof_path: &Path,
    keys: &[PathBuf],
    log: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let trusted = trusted_keys(keys)?;
    let text = read(proof_path)?;
    let log_bytes = match log {
        Some(path) => Some((path, read(path)?)),
        None => None,
    };
    let log = log_bytes.as_ref().map(|(p, b)| (*p, b.as_slice()));
    let outcome = serde_json::from_slice::<Value>(&text)
        .map_err(|e| failure(format!("not JSON: {e}")))
        .and_then(|proof| check_proof(&proof, &trusted, log));
    match outcome {
        Ok(holds) => {
            println!("ok: {holds}");
            Ok(exit_ok())
        }
        Err(e) => {
            println!("FAIL {}: {e}", proof_path.display());
            Ok(exit_invalid())
        }
    }
}
