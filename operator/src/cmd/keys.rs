//! `netwright keys`: create and inspect ed25519 signing keys.

use std::path::PathBuf;
use std::process::ExitCode;

use netwright_receipts::keys::{generate_key_files, load_signer, load_verifying_key};
use netwright_receipts::KeyId;

use super::exit_ok;

/// Subcommands of `netwright keys`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate a key pair: DIR/NAME.key (private, mode 0600) and DIR/NAME.pub. Never overwrites.
    Generate {
        /// Directory to write the key files into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Base name of the key files.
        #[arg(long, default_value = "receipts")]
        name: String,
    },
    /// Print the key id (SHA-256 of the public key) of a .pub or .key file.
    Id {
        /// A public (.pub) or private (.key) key file.
        file: PathBuf,
    },
}

/// Runs a `netwright keys` subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Generate { out, name } => {
            let generated = generate_key_files(&out, &name)?;
            println!("key id  {}", generated.id);
            println!("private {}", generated.private.display());
            println!("public  {}", generated.public.display());
            Ok(exit_ok())
        }
        Command::Id { file } => {
            let id = match load_verifying_key(&file) {
                Ok(key) => KeyId::of(&key),
                Err(public_err) => match load_signer(&file) {
                    Ok(signer) => signer.id(),
                    Err(_) => return Err(public_err.into()),
                },
            };
            println!("{id}");
            Ok(exit_ok())
        }
    }
}
