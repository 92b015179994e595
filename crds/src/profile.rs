//! Profiles: named sets of defaults for the fields a spec leaves out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which defaults apply. A profile changes defaults only: anything written in the spec wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// A few processes on one machine: fast blocks, small stakes, short sessions.
    #[default]
    Localnet,
    /// A shared development network: moderate timings and stakes.
    Devnet,
    /// A public-like test network: production timings and stakes.
    Testnet,
}

impl Profile {
    /// Every profile, in order.
    pub const ALL: [Profile; 3] = [Profile::Localnet, Profile::Devnet, Profile::Testnet];

    /// The name used in YAML.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Localnet => "localnet",
            Profile::Devnet => "devnet",
            Profile::Testnet => "testnet",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
