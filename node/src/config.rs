//! `config.toml`: the file format, defaults and validation live in
//! [`netwright_node_api::config`] and are re-exported here; this module adds the checks that need
//! the runtime's own types (libp2p multiaddresses and peer ids, the log filter) and returns the
//! parsed values the runtime starts from.

use std::net::SocketAddr;
use std::path::Path;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

pub use netwright_node_api::config::*;

/// A persistent peer: its identity and where to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerAddr {
    /// The peer's libp2p identity.
    pub peer_id: PeerId,
    /// The full address, including the trailing `/p2p/<peer id>`.
    pub addr: Multiaddr,
}

/// Typed, checked values derived from a [`Config`].
#[derive(Clone, Debug)]
pub struct Checked {
    /// Parsed `p2p.listen`.
    pub p2p_listen: Multiaddr,
    /// Parsed `p2p.persistent_peers`.
    pub persistent_peers: Vec<PeerAddr>,
    /// Parsed `rpc.listen`.
    pub rpc_listen: SocketAddr,
}

/// Reads, parses and checks `path`.
pub fn load(path: &Path) -> Result<(Config, Checked), ConfigError> {
    let config = Config::read(path)?;
    let checked = check(&config, path)?;
    Ok((config, checked))
}

/// Checks every field ([`Config::validate`], then the addresses, peer ids and log filter) and
/// returns the parsed addresses.
pub fn check(config: &Config, path: &Path) -> Result<Checked, ConfigError> {
    config.validate(path)?;
    let bad = |field: &str, value: &dyn std::fmt::Display, reason: &str| {
        ConfigError::invalid(path, field, value, reason)
    };
    let p2p_listen: Multiaddr = config.p2p.listen.parse().map_err(|e| {
        bad(
            "p2p.listen",
            &config.p2p.listen,
            &format!("not a multiaddress: {e}"),
        )
    })?;
    if !p2p_listen.iter().any(|p| matches!(p, Protocol::Tcp(_))) {
        return Err(bad(
            "p2p.listen",
            &config.p2p.listen,
            "must contain a /tcp/<port> part",
        ));
    }
    let mut persistent_peers = Vec::new();
    for (i, text) in config.p2p.persistent_peers.iter().enumerate() {
        let field = format!("p2p.persistent_peers[{i}]");
        let addr: Multiaddr = text
            .parse()
            .map_err(|e| bad(&field, text, &format!("not a multiaddress: {e}")))?;
        let Some(Protocol::P2p(peer_id)) = addr.iter().last() else {
            return Err(bad(&field, text, "must end with /p2p/<peer id>"));
        };
        persistent_peers.push(PeerAddr { peer_id, addr });
    }
    let rpc_listen = config.rpc_listen(path)?;
    if tracing_subscriber::EnvFilter::try_new(&config.log.level).is_err() {
        return Err(bad(
            "log.level",
            &config.log.level,
            "not a valid log filter (try `info`)",
        ));
    }
    Ok(Checked {
        p2p_listen,
        persistent_peers,
        rpc_listen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("config.toml")
    }

    #[test]
    fn default_checks_with_its_addresses_parsed() {
        let checked = check(&Config::default(), p()).unwrap();
        assert_eq!(checked.rpc_listen.port(), 26657);
        assert!(checked.persistent_peers.is_empty());
    }

    #[test]
    fn peers_are_parsed_and_a_peer_without_id_is_refused_with_index() {
        let id = PeerId::random();
        let mut config = Config::default();
        config.p2p.persistent_peers = vec![format!("/ip4/127.0.0.1/tcp/1/p2p/{id}")];
        let checked = check(&config, p()).unwrap();
        assert_eq!(checked.persistent_peers[0].peer_id, id);
        config
            .p2p
            .persistent_peers
            .push("/ip4/127.0.0.1/tcp/2".to_string());
        let err = check(&config, p()).unwrap_err().to_string();
        assert!(err.contains("p2p.persistent_peers[1]"), "{err}");
        assert!(err.contains("/p2p/<peer id>"), "{err}");
        config.p2p.persistent_peers = vec![format!("/ip4/127.0.0.1/tcp/x/p2p/{id}")];
        let err = check(&config, p()).unwrap_err().to_string();
        assert!(
            err.contains("p2p.persistent_peers[0]") && err.contains("not a multiaddress"),
            "{err}"
        );
    }

    #[test]
    fn listen_address_without_tcp_and_bad_log_filter_are_refused() {
        let mut config = Config::default();
        config.p2p.listen = "/ip4/0.0.0.0/udp/1".to_string();
        let err = check(&config, p()).unwrap_err().to_string();
        assert!(err.contains("p2p.listen") && err.contains("/tcp/"), "{err}");
        let mut config = Config::default();
        config.log.level = "netwright_node=loud".to_string();
        let err = check(&config, p()).unwrap_err().to_string();
        assert!(err.contains("log.level"), "{err}");
    }

    #[test]
    fn rules_of_the_file_format_apply_too() {
        let mut config = Config::default();
        config.mempool.max_txs = 0;
        let err = check(&config, p()).unwrap_err().to_string();
        assert!(
            err.contains("mempool.max_txs") && err.contains("greater than 0"),
            "{err}"
        );
    }
}
