//! The node home directory's layout: which file holds what.
//!
//! A home holds `config.toml` ([`crate::config`]), `genesis.json` (the ledger's genesis
//! document, written by the orchestrator or by hand), `node_key.json` ([`crate::keys`], mode
//! 0600) and `data/` (the node's database, owned by the running node).

use std::path::{Path, PathBuf};

pub use crate::config::CONFIG_FILE;
pub use crate::keys::NODE_KEY_FILE;

/// File name of the genesis document inside the node home.
pub const GENESIS_FILE: &str = "genesis.json";
/// Directory holding the database inside the node home.
pub const DATA_DIR: &str = "data";

/// Paths of the files inside a node home (nothing is touched on disk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HomeLayout {
    root: PathBuf,
}

impl HomeLayout {
    /// The layout of the home rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// Path of `genesis.json`.
    pub fn genesis_path(&self) -> PathBuf {
        self.root.join(GENESIS_FILE)
    }

    /// Path of `node_key.json`.
    pub fn key_path(&self) -> PathBuf {
        self.root.join(NODE_KEY_FILE)
    }

    /// Path of the data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join(DATA_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_documented_names_under_the_root() {
        let home = HomeLayout::new("/n0");
        assert_eq!(home.root(), Path::new("/n0"));
        assert_eq!(home.config_path(), Path::new("/n0/config.toml"));
        assert_eq!(home.genesis_path(), Path::new("/n0/genesis.json"));
        assert_eq!(home.key_path(), Path::new("/n0/node_key.json"));
        assert_eq!(home.data_dir(), Path::new("/n0/data"));
    }
}
