//! `netwright-node`: runs one node of a netwright network.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("netwright-node is not built yet")
}
