//! The node home directory: what `init` creates and what `run` reads.
//!
//! Layout ([`netwright_node_api::home`]): `config.toml`, `genesis.json` (written by the
//! orchestrator or by hand), `node_key.json` (mode 0600) and `data/` (the database).

use std::path::{Path, PathBuf};

use netwright_ledger::{Genesis, GenesisError};

use netwright_node_api::home::HomeLayout;
pub use netwright_node_api::home::{DATA_DIR, GENESIS_FILE};

use crate::config::{self, Checked, Config, ConfigError};
use crate::keys::{KeyError, NodeKey};

/// Errors from preparing or reading a node home.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// A filesystem operation on the home failed.
    #[error("{path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// `init` was asked to create a file that already exists.
    #[error("{path}: already exists; `init` never overwrites an existing home")]
    AlreadyInitialised {
        /// The existing file.
        path: PathBuf,
    },
    /// A required file is missing.
    #[error(
        "{path}: missing ({what}); `netwright-node init --home {home}` writes a node key and config, \
         `netwright-node testnet` writes whole homes with a shared genesis, or provide the file"
    )]
    Missing {
        /// The missing file.
        path: PathBuf,
        /// What the file is.
        what: &'static str,
        /// The home directory.
        home: PathBuf,
    },
    /// The node key is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The genesis document is unusable.
    #[error("{path}: {location}{reason}")]
    Genesis {
        /// Path of the genesis file.
        path: PathBuf,
        /// `line L, column C: ` or `field F: `.
        location: String,
        /// Why it is refused.
        reason: String,
    },
}

/// Paths of the files inside a node home.
#[derive(Clone, Debug)]
pub struct Home {
    layout: HomeLayout,
}

/// Everything `run` needs from the home, loaded and checked.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed configuration.
    pub config: Config,
    /// Typed values derived from the configuration.
    pub checked: Checked,
    /// The node identity.
    pub key: NodeKey,
    /// The genesis document, checked by the ledger.
    pub genesis: Genesis,
}

impl Home {
    /// A home rooted at `root` (nothing is touched yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            layout: HomeLayout::new(root),
        }
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// Path of `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.layout.config_path()
    }

    /// Path of `genesis.json`.
    pub fn genesis_path(&self) -> PathBuf {
        self.layout.genesis_path()
    }

    /// Path of `node_key.json`.
    pub fn key_path(&self) -> PathBuf {
        self.layout.key_path()
    }

    /// Path of the data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.layout.data_dir()
    }

    /// Creates the home: a new node key and `config`. Refuses if either file exists; writes
    /// nothing in that case.
    pub fn init(&self, config: &Config) -> Result<NodeKey, HomeError> {
        for path in [self.key_path(), self.config_path()] {
            if path.exists() {
                return Err(HomeError::AlreadyInitialised { path });
            }
        }
        let io = |path: PathBuf| move |source| HomeError::Io { path, source };
        std::fs::create_dir_all(self.root()).map_err(io(self.root().to_path_buf()))?;
        std::fs::create_dir_all(self.data_dir()).map_err(io(self.data_dir()))?;
        let key = NodeKey::generate();
        key.write_new(&self.key_path())?;
        let text = config.to_toml().map_err(|e| HomeError::Io {
            path: self.config_path(),
            source: std::io::Error::other(e),
        })?;
        write_new_file(&self.config_path(), text.as_bytes())?;
        Ok(key)
    }

    /// Loads and checks the configuration, the node key and the genesis document.
    pub fn load(&self) -> Result<Loaded, HomeError> {
        let config_path = self.config_path();
        self.require(&config_path, "node configuration")?;
        let (config, checked) = config::load(&config_path)?;
        let key_path = self.key_path();
        self.require(&key_path, "node key")?;
        let key = NodeKey::load(&key_path)?;
        let genesis_path = self.genesis_path();
        self.require(&genesis_path, "genesis document")?;
        let genesis = load_genesis(&genesis_path)?;
        Ok(Loaded {
            config,
            checked,
            key,
            genesis,
        })
    }

    fn require(&self, path: &Path, what: &'static str) -> Result<(), HomeError> {
        if path.exists() {
            Ok(())
        } else {
            Err(HomeError::Missing {
                path: path.to_path_buf(),
                what,
                home: self.root().to_path_buf(),
            })
        }
    }
}

fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), HomeError> {
    use std::io::Write;
    let io = |source| HomeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads `genesis.json` as the ledger's [`Genesis`] (every rule checked).
pub fn load_genesis(path: &Path) -> Result<Genesis, HomeError> {
    let text = std::fs::read_to_string(path).map_err(|source| HomeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_genesis(&text, path)
}

/// Parses and checks genesis text; `path` names the file in errors, which also name the line
/// and column (syntax) or the field and value (rules).
pub fn parse_genesis(text: &str, path: &Path) -> Result<Genesis, HomeError> {
    Genesis::from_json(text).map_err(|e| match e {
        GenesisError::Json {
            line,
            column,
            message,
        } => HomeError::Genesis {
            path: path.to_path_buf(),
            location: format!("line {line}, column {column}: "),
            reason: message,
        },
        GenesisError::Invalid {
            field,
            value,
            reason,
        } => HomeError::Genesis {
            path: path.to_path_buf(),
            location: format!("field `{field}`: "),
            reason: format!("value {value}: {reason}"),
        },
    })
}

/// Writes `genesis` to `path`, refusing to overwrite an existing file.
pub fn write_genesis(path: &Path, genesis: &Genesis) -> Result<(), HomeError> {
    write_new_file(path, genesis.to_json().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_creates_files_and_refuses_second_time() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("n0"));
        let key = home.init(&Config::default()).unwrap();
        assert!(home.config_path().exists());
        assert_eq!(
            NodeKey::load(&home.key_path()).unwrap().peer_id(),
            key.peer_id()
        );
        let err = home.init(&Config::default()).unwrap_err();
        assert!(matches!(err, HomeError::AlreadyInitialised { .. }), "{err}");
        assert_eq!(
            NodeKey::load(&home.key_path()).unwrap().peer_id(),
            key.peer_id()
        );
    }

    #[test]
    fn load_names_the_missing_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        home.init(&Config::default()).unwrap();
        let err = home.load().unwrap_err().to_string();
        assert!(
            err.contains("genesis.json") && err.contains("missing"),
            "{err}"
        );
    }

    fn sample_genesis() -> String {
        let key = NodeKey::generate();
        format!(
            r#"{{"chain_id": "local-1", "initial_height": 1, "genesis_time_ms": 1700000000000,
            "params": {{"unbonding_period_blocks": 10, "min_validator_stake": 100, "max_txs_per_block": 100}},
            "validators": [{{"public_key": "{}", "stake": 100}}]}}"#,
            key.public_hex()
        )
    }

    #[test]
    fn genesis_errors_name_location() {
        let p = Path::new("genesis.json");
        let err = parse_genesis("{\n \"chain_id\": ", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("genesis.json: line 2"), "{err}");
        let bad = sample_genesis().replace("\"stake\": 100", "\"stake\": 7");
        let err = parse_genesis(&bad, p).unwrap_err().to_string();
        assert!(
            err.contains("genesis.json: field `validators[0].stake`") && err.contains('7'),
            "{err}"
        );
        let err = parse_genesis("[]", p).unwrap_err().to_string();
        assert!(err.contains("genesis.json"), "{err}");
        let g = parse_genesis(&sample_genesis(), p).unwrap();
        assert_eq!(g.chain_id, "local-1");
        assert_eq!(g.validators.len(), 1);
    }
}
