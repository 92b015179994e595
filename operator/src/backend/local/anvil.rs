//! Managed relay chains: finding and installing `anvil` (from the npm package
//! `@foundry-rs/anvil-linux-amd64`) and the command line a [`ManagedChain`] runs with.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backend::BackendError;
use crate::plan::ManagedChain;

use super::process::on_path;

/// The npm package that ships anvil for Linux on x86-64.
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil-linux-amd64";
/// The version installed by [`install_anvil`].
pub const ANVIL_VERSION: &str = "1.7.1";

/// Where [`install_anvil`] installs (`~/.cache/netwright/tools`).
pub fn tools_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/netwright/tools"))
}

/// The anvil binary inside an install prefix.
fn installed_in(prefix: &Path) -> PathBuf {
    prefix
        .join("node_modules")
        .join(ANVIL_PACKAGE)
        .join("bin")
        .join("anvil")
}

/// The command that installs anvil where netwright looks for it.
pub fn install_command() -> String {
    format!("npm install --prefix ~/.cache/netwright/tools {ANVIL_PACKAGE}@{ANVIL_VERSION}")
}

/// The anvil binary: `explicit`, else `NETWRIGHT_ANVIL`, else `anvil` on `PATH`, else the one
/// [`install_anvil`] installs. Missing, the error names the install command.
pub fn find_anvil(explicit: Option<&Path>) -> Result<PathBuf, BackendError> {
    let given = explicit
        .map(|p| (p.to_path_buf(), "the anvil binary given"))
        .or_else(|| {
            std::env::var_os("NETWRIGHT_ANVIL").map(|p| (PathBuf::from(p), "NETWRIGHT_ANVIL"))
        });
    if let Some((path, what)) = given {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(BackendError::new(format!(
                "{what}: {}: no such file; install anvil with `{}` (or `netwright tools install`)",
                path.display(),
                install_command()
            )))
        };
    }
    if let Some(path) = on_path("anvil") {
        return Ok(path);
    }
    if let Some(path) = tools_dir().map(|d| installed_in(&d)) {
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(BackendError::new(format!(
        "anvil (the managed Ethereum relay chain) is not installed: not in NETWRIGHT_ANVIL, on \
         PATH, or under ~/.cache/netwright/tools; install it with `{}` (or `netwright tools install`)",
        install_command()
    )))
}

/// Installs anvil with npm under `~/.cache/netwright/tools` and returns its path.
pub fn install_anvil() -> Result<PathBuf, BackendError> {
    let prefix =
        tools_dir().ok_or_else(|| BackendError::new("HOME is not set: cannot install anvil"))?;
    std::fs::create_dir_all(&prefix)
        .map_err(|e| BackendError::new(format!("{}: {e}", prefix.display())))?;
    let status = Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(&prefix)
        .arg(format!("{ANVIL_PACKAGE}@{ANVIL_VERSION}"))
        .status()
        .map_err(|e| {
            BackendError::new(format!(
                "cannot run npm to install anvil ({e}); install Node.js and npm, then run `{}`",
                install_command()
            ))
        })?;
    if !status.success() {
        return Err(BackendError::new(format!(
            "`{}` failed ({status})",
            install_command()
        )));
    }
    let path = installed_in(&prefix);
    if path.is_file() {
        Ok(path)
    } else {
        Err(BackendError::new(format!(
            "npm installed {ANVIL_PACKAGE} but {} is missing",
            path.display()
        )))
    }
}

/// anvil's command line for `chain` on `port` of 127.0.0.1.
pub fn anvil_args(chain: &ManagedChain, port: u16) -> Vec<String> {
    let mut args = vec![
        "--host".to_owned(),
        "127.0.0.1".to_owned(),
        "--port".to_owned(),
        port.to_string(),
        "--chain-id".to_owned(),
        chain.evm_chain_id.to_string(),
        "--accounts".to_owned(),
        chain.accounts.to_string(),
    ];
    if chain.block_time_ms > 0 {
        // anvil takes seconds, fractions allowed.
        let secs = chain.block_time_ms / 1000;
        let millis = chain.block_time_ms % 1000;
        let text = if millis == 0 {
            secs.to_string()
        } else {
            format!("{secs}.{millis:03}")
        };
        args.push("--block-time".to_owned());
        args.push(text);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_carry_port_chain_id_accounts_and_block_time() {
        let chain = ManagedChain {
            id: "0021".into(),
            name: "ethereum".into(),
            evm_chain_id: 31337,
            block_time_ms: 1500,
            accounts: 3,
        };
        let args = anvil_args(&chain, 21010).join(" ");
        assert_eq!(
            args,
            "--host 127.0.0.1 --port 21010 --chain-id 31337 --accounts 3 --block-time 1.500"
        );
        let automine = ManagedChain {
            block_time_ms: 0,
            ..chain
        };
        assert!(!anvil_args(&automine, 1).join(" ").contains("block-time"));
    }

    #[test]
    fn missing_explicit_anvil_names_the_install_command() {
        let err = find_anvil(Some(Path::new("/nonexistent/anvil")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/anvil"), "{err}");
        assert!(
            err.contains(
                "npm install --prefix ~/.cache/netwright/tools @foundry-rs/anvil-linux-amd64@1.7.1"
            ),
            "{err}"
        );
    }
}
