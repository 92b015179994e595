//! The contract between a netwright node and whoever runs it: the files in a node home and the
//! node's RPC.
//!
//! - [`config`]: `config.toml`, its sections, defaults and validation;
//! - [`keys`]: `node_key.json`, the node's ed25519 identity;
//! - [`home`]: the home layout (which file holds what);
//! - [`rpc`]: the JSON the RPC serves and accepts;
//! - [`client`]: a typed async RPC client with a deadline and a body limit on every call.
//!
//! The node builds its files and answers from these types, and the orchestrator reads them with
//! the same types, without linking the node's runtime (networking, storage, HTTP server).
//!
//! ```
//! use netwright_node_api::client::RpcClient;
//! use netwright_node_api::config::Config;
//! use netwright_node_api::home::HomeLayout;
//! use netwright_node_api::keys::NodeKey;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let home = HomeLayout::new("/var/lib/netwright/validator-0");
//! let mut config = Config::default();
//! config.rpc.listen = "127.0.0.1:21001".to_string();
//! config.validate(&home.config_path())?;
//! let text = config.to_toml()?;
//! assert_eq!(Config::parse(&text, &home.config_path())?, config);
//!
//! let peer = NodeKey::generate().peer_id();
//! assert!(peer.starts_with("12D3KooW"));
//!
//! let client = RpcClient::new("http://127.0.0.1:21001")?;
//! assert_eq!(client.base_url(), "http://127.0.0.1:21001");
//! // Inside a tokio runtime: `let status = client.status().await?;`
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod home;
pub mod keys;
pub mod rpc;
