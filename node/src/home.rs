//! The node home directory: what `init` creates and what `run` reads.
//!
//! Layout: `config.toml`, `genesis.json` (written by the orchestrator or by hand),
//! `node_key.json` (mode 0600) and `data/` (the database).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{Checked, Config, ConfigError, CONFIG_FILE};
use crate::keys::{KeyError, NodeKey, NODE_KEY_FILE};

/// File name of the genesis document inside the node home.
pub const GENESIS_FILE: &str = "genesis.json";
/// Directory holding the database inside the node home.
pub const DATA_DIR: &str = "data";

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
        "{path}: missing ({what}); run `netwright-node init --home {home}` or provide the file"
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
    root: PathBuf,
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
    /// The genesis document.
    pub genesis: Genesis,
}

/// The genesis document as far as the runtime needs it today: valid JSON with a chain id.
/// The ledger owns the full genesis type; the runtime hands it [`Genesis::document`].
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The network's chain id (`chain_id`), which also namespaces gossip topics.
    pub chain_id: String,
    /// The whole document.
    pub document: Value,
}

impl Home {
    /// A home rooted at `root` (nothing is touched yet).
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

    /// Creates the home: a new node key and `config`. Refuses if either file exists; writes
    /// nothing in that case.
    pub fn init(&self, config: &Config) -> Result<NodeKey, HomeError> {
        for path in [self.key_path(), self.config_path()] {
            if path.exists() {
                return Err(HomeError::AlreadyInitialised { path });
            }
        }
        let io = |path: PathBuf| move |source| HomeError::Io { path, source };
        std::fs::create_dir_all(&self.root).map_err(io(self.root.clone()))?;
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
        let (config, checked) = Config::load(&config_path)?;
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
                home: self.root.clone(),
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

/// Reads `genesis.json`: it must be a JSON object with a non-empty string `chain_id`.
pub fn load_genesis(path: &Path) -> Result<Genesis, HomeError> {
    let text = std::fs::read_to_string(path).map_err(|source| HomeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_genesis(&text, path)
}

/// Parses genesis text; `path` names the file in errors.
pub fn parse_genesis(text: &str, path: &Path) -> Result<Genesis, HomeError> {
    let err = |location: String, reason: String| HomeError::Genesis {
        path: path.to_path_buf(),
        location,
        reason,
    };
    let document: Value = serde_json::from_str(text).map_err(|e| {
        err(
            format!("line {}, column {}: ", e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
    })?;
    let Some(object) = document.as_object() else {
        return Err(err(
            String::new(),
            "the document must be a JSON object".to_string(),
        ));
    };
    let chain_id = match object.get("chain_id") {
        None => return Err(err("field `chain_id`: ".into(), "missing".into())),
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(other) => {
            return Err(err(
                "field `chain_id`: ".into(),
                format!("value `{other}`: must be a non-empty string"),
            ))
        }
    };
    Ok(Genesis { chain_id, document })
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

    #[test]
    fn genesis_errors_name_location() {
        let p = Path::new("genesis.json");
        let err = parse_genesis("{\n \"chain_id\": ", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("genesis.json: line 2"), "{err}");
        let err = parse_genesis("{\"chain_id\": 7}", p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field `chain_id`") && err.contains("`7`"),
            "{err}"
        );
        let err = parse_genesis("[]", p).unwrap_err().to_string();
        assert!(err.contains("JSON object"), "{err}");
        let g = parse_genesis("{\"chain_id\": \"local-1\", \"validators\": []}", p).unwrap();
        assert_eq!(g.chain_id, "local-1");
    }
}
