//! The on-chain client every backend uses to change a running network through transactions:
//! sign at the account's next nonce and submit through a node's RPC, read stakes and balances,
//! stake (topping the account up from the treasury first when it lacks the funds) and unstake.
//! Async, over the `netwright-node-api` RPC client: the local backend runs it on its own small
//! runtime, the Kubernetes backend on the controller's.
//!
//! What it does not decide: which node to submit through (a running node that has caught up,
//! picked by the backend) and how long to wait for an effect (the backend's wait).

use ed25519_dalek::SigningKey;
use netwright_ledger::{Address, PublicKey, TxBody, TxPayload};
use netwright_node_api::client::{ClientError, RpcClient};

/// Why a transaction or a query did not go through.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node's RPC failed or refused.
    #[error(transparent)]
    Rpc(#[from] ClientError),
    /// The transaction was refused or did not commit.
    #[error("submitting {what} from {from}: {reason}")]
    Submit {
        /// The transaction, in words.
        what: String,
        /// The sender's address.
        from: String,
        /// Why.
        reason: String,
    },
    /// The stake on chain is not what the plan expected: plan again.
    #[error("{node} has stake {current} on-chain; {change} does not give {target}: plan again")]
    StakeMoved {
        /// The node.
        node: String,
        /// Its stake now.
        current: u64,
        /// The change, in words.
        change: String,
        /// The stake the plan wants.
        target: u64,
    },
    /// The account lacks funds and there is no treasury to top it up from, or the top-up did
    /// not arrive.
    #[error("{0}")]
    Funds(String),
}

/// A network's chain as seen through one node's RPC.
#[derive(Debug, Clone)]
pub struct Chain<'a> {
    client: &'a RpcClient,
    chain_id: &'a str,
}

/// The bonded stake of `public` as the node behind `client` lists it in `/validators` (0 when
/// none). Reading needs no chain id, so it stands outside [`Chain`].
pub async fn stake_of(client: &RpcClient, public: &PublicKey) -> Result<u64, ChainError> {
    let hex = public.to_string();
    let validators = client.validators().await?;
    Ok(validators
        .iter()
        .find(|v| v.public_key.eq_ignore_ascii_case(&hex))
        .map_or(0, |v| v.stake))
}

/// The account address of `public`, as the ledger derives it.
pub fn address_of(public: &PublicKey) -> String {
    Address::from_public_key(public).to_string()
}

impl<'a> Chain<'a> {
    /// The chain `chain_id`, reached through `client` (one node's RPC).
    pub fn new(client: &'a RpcClient, chain_id: &'a str) -> Self {
        Chain { client, chain_id }
    }

    /// Signs `body` with `key` at its account's next nonce, submits it and waits for its
    /// commit; returns the height it was committed at.
    pub async fn submit(&self, key: &SigningKey, body: TxBody) -> Result<u64, ChainError> {
        let signer = PublicKey::from(key.verifying_key());
        let from = address_of(&signer);
        let account = self.client.account(&from).await?;
        let what = format!("{body:?}");
        let tx = TxPayload {
            chain_id: self.chain_id.to_owned(),
            signer,
            nonce: account.nonce,
            fee: 0,
            body,
        }
        .sign(key);
        let fail = |reason: String| ChainError::Submit {
            what: what.clone(),
            from: from.clone(),
            reason,
        };
        let outcome = self
            .client
            .submit_and_wait(&tx.encode(), COMMIT_WAIT)
            .await
            .map_err(|e| fail(e.to_string()))?;
        outcome
            .height
            .ok_or_else(|| fail("the node named no commit height".into()))
    }

    /// Whether a stake change is still to be made: `false` when `node`'s stake is `target`
    /// already, `true` when the change (`after` of the current stake, described by `change`)
    /// gives `target`, and [`ChainError::StakeMoved`] otherwise.
    async fn stake_change_due(
        &self,
        node: &str,
        public: &PublicKey,
        change: String,
        after: impl FnOnce(u64) -> Option<u64>,
        target: u64,
    ) -> Result<bool, ChainError> {
        let current = stake_of(self.client, public).await?;
        if current == target {
            return Ok(false);
        }
        if after(current) != Some(target) {
            return Err(ChainError::StakeMoved {
                node: node.to_owned(),
                current,
                change,
                target,
            });
        }
        Ok(true)
    }

    /// The spendable balance of `public`'s account.
    pub async fn balance_of(&self, public: &PublicKey) -> Result<u64, ChainError> {
        Ok(self.client.account(&address_of(public)).await?.balance)
    }

    /// Bonds `amount` more for `node` (key `key`) so that its stake becomes `target`; first
    /// moves what its account lacks from `treasury`. Done already when the stake is `target`.
    pub async fn stake(
        &self,
        node: &str,
        key: &SigningKey,
        treasury: Option<&SigningKey>,
        amount: u64,
        target: u64,
    ) -> Result<(), ChainError> {
        let public = PublicKey::from(key.verifying_key());
        let change = format!("adding {amount}");
        let add = |current: u64| current.checked_add(amount);
        if !self
            .stake_change_due(node, &public, change, add, target)
            .await?
        {
            return Ok(());
        }
        let balance = self.balance_of(&public).await?;
        if balance < amount {
            let treasury = treasury.ok_or_else(|| {
                ChainError::Funds(format!(
                    "{node} holds {balance} but needs {amount}, and there is no treasury key to fund the stake from"
                ))
            })?;
            let top_up = amount - balance;
            let to = Address::from_public_key(&public);
            self.submit(treasury, TxBody::Transfer { to, amount: top_up })
                .await?;
            let now = self.balance_of(&public).await?;
            if now < amount {
                return Err(ChainError::Funds(format!(
                    "the treasury transfer of {top_up} to {node} ({}) committed but its balance is {now}; is the treasury funded?",
                    address_of(&public)
                )));
            }
        }
        self.submit(key, TxBody::Stake { amount }).await?;
        Ok(())
    }

    /// Unbonds `amount` of `node`'s stake so that it becomes `target`. Done already when the
    /// stake is `target`.
    pub async fn unstake(
        &self,
        node: &str,
        key: &SigningKey,
        amount: u64,
        target: u64,
    ) -> Result<(), ChainError> {
        let public = PublicKey::from(key.verifying_key());
        let change = format!("removing {amount}");
        let remove = |current: u64| current.checked_sub(amount);
        if !self
            .stake_change_due(node, &public, change, remove, target)
            .await?
        {
            return Ok(());
        }
        self.submit(key, TxBody::Unstake { amount }).await?;
        Ok(())
    }
}

/// How long a submission waits for its commit (the node answers 504 after its own
/// `rpc.commit_wait_ms`, 30 s by default).
const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(45);
