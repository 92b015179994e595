//! The ledger state machine: admission checks for the mempool, block
//! application with deterministic results, the state root and the write set.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::actors::{ActorRecord, ActorRole, RelayChain};
use crate::address::Address;
use crate::codec::{decode_tx, DecodedTx, TxDecodeError};
use crate::crypto::{Hash, PublicKey};
use crate::economics::{EconomicParams, ParamsHistory, SessionBounds};
use crate::error::{BlockError, TxError};
use crate::exec::{self, Changes};
use crate::genesis::{Genesis, GenesisError, Params, MAX_TOTAL_SUPPLY};
use crate::merkle;
use crate::session::{self, Session, SessionError};
use crate::signature::{verify_one, verify_signatures};
use crate::state::{Account, LastBlock, SnapshotError, State, StateKey, ValidatorRecord};

/// A transaction accepted by [`Ledger::check_tx`], with what a mempool needs
/// to order and deduplicate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTx {
    /// BLAKE3 of the bytes.
    pub hash: Hash,
    /// The sending account.
    pub sender: Address,
    /// The transaction's nonce.
    pub nonce: u64,
    /// The account's next nonce in committed state (`nonce == next_nonce`
    /// means executable now; larger means it must wait for its predecessors).
    pub next_nonce: u64,
    /// The fee offered.
    pub fee: u64,
    /// Encoded size in bytes.
    pub size: usize,
}

/// The outcome of one transaction in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxResult {
    /// BLAKE3 of the transaction bytes (defined even for malformed bytes).
    pub hash: Hash,
    /// `Ok` when executed; otherwise why it failed.
    pub result: Result<(), TxError>,
    /// Fee taken (also taken for failures whose [`TxError::charges_fee`] is true).
    pub fee_charged: u64,
    /// The signer's address, when the bytes decode (whatever the result).
    pub sender: Option<Address>,
}

impl TxResult {
    /// 0 for success, otherwise [`TxError::code`].
    pub fn code(&self) -> u32 {
        self.result.as_ref().err().map_or(0, TxError::code)
    }
}

/// A change of one validator's voting power; power 0 removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ValidatorUpdate {
    /// The validator's consensus key.
    pub public_key: PublicKey,
    /// Its new voting power (its bonded stake); 0 = removed from the set.
    pub power: u64,
}

/// The state changes of one block, as stored key-value operations in
/// ascending key order: `Some(value)` writes, `None` deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSet {
    /// The operations.
    pub entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteSet {
    /// Applies the operations to an in-memory key-value map.
    pub fn apply_to(&self, store: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
        for (k, v) in &self.entries {
            match v {
                Some(v) => {
                    store.insert(k.clone(), v.clone());
                }
                None => {
                    store.remove(k);
                }
            }
        }
    }
}

/// Everything the runtime needs after applying a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The block's height.
    pub height: u64,
    /// The block's time (ms since the Unix epoch).
    pub time_ms: u64,
    /// One result per transaction, in block order.
    pub tx_results: Vec<TxResult>,
    /// The state root after this block.
    pub state_root: Hash,
    /// Validators whose power changed in this block, sorted by key.
    pub validator_updates: Vec<ValidatorUpdate>,
    /// The stored-state changes to commit atomically with the block.
    pub write_set: WriteSet,
}

/// Funds waiting to return to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UnbondingEntry {
    /// Amount in base units.
    pub amount: u64,
    /// The funds are credited at the end of the block at this height.
    pub matures_at_height: u64,
}

/// An account as RPC shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    /// The account.
    pub address: Address,
    /// Spendable balance.
    pub balance: u64,
    /// The nonce the next transaction must carry.
    pub nonce: u64,
    /// Validator stake bonded by this account's key (0 if none).
    pub staked: u64,
    /// Pending unbonding entries, earliest first.
    pub unbonding: Vec<UnbondingEntry>,
}

/// A validator as RPC and consensus see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidatorView {
    /// Its account.
    pub address: Address,
    /// Its consensus key.
    pub public_key: PublicKey,
    /// Bonded stake.
    pub stake: u64,
    /// Voting power (equal to the stake).
    pub power: u64,
}

/// A servicer, application or fisherman as RPC shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorView {
    /// Which kind of actor.
    pub role: ActorRole,
    /// Its account.
    pub address: Address,
    /// Its key.
    pub public_key: PublicKey,
    /// Bonded stake.
    pub stake: u64,
    /// Relay chains served, used or measured.
    pub chains: Vec<RelayChain>,
    /// Servicers: public relay URL (empty for the others).
    pub service_url: String,
    /// Applications: delegated gateways (empty for the others).
    pub gateways: Vec<Address>,
    /// Servicers: paused by their own transaction.
    pub paused: bool,
    /// While jailed: the first height at which it may unjail.
    pub jailed_until: Option<u64>,
}

impl ActorView {
    fn of(role: ActorRole, address: Address, r: &ActorRecord) -> Option<ActorView> {
        Some(ActorView {
            role,
            address,
            // Keys were validated when stored; a failure would skip the entry.
            public_key: PublicKey::from_bytes(r.public_key).ok()?,
            stake: r.stake,
            chains: r.chains.clone(),
            service_url: r.service_url.clone(),
            gateways: r.gateways.clone(),
            paused: r.paused,
            jailed_until: r.jailed_until,
        })
    }
}

/// Transactions a caller already decoded and whose signatures it verified, looked up by hash
/// (BLAKE3 of the encoded transaction, signature included) during
/// [`Ledger::apply_block_known`].
pub trait KnownTxs {
    /// The decoded transaction with this hash, if its signature was verified.
    fn known(&self, hash: &Hash) -> Option<&DecodedTx>;

    /// Decodes a transaction that is not known; a caller that keeps decompressed signer keys
    /// ([`crate::KeyCache`]) uses them here.
    fn decode(&self, bytes: &[u8]) -> Result<DecodedTx, TxDecodeError> {
        decode_tx(bytes)
    }
}

/// Where a block's transaction comes from when the block is applied.
enum Source<'a> {
    /// Decoded and verified before ([`KnownTxs`]).
    Known(&'a DecodedTx),
    /// Decoded now (or not decodable); its signature is still to be verified.
    Fresh(Box<Result<DecodedTx, TxError>>),
}

/// No transaction is known: everything is decoded and verified.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKnownTxs;

impl KnownTxs for NoKnownTxs {
    fn known(&self, _hash: &Hash) -> Option<&DecodedTx> {
        None
    }
}

/// The ledger: typed state and the Merkle tree over it.
#[derive(Debug, Clone)]
pub struct Ledger {
    state: State,
    tree: merkle::Tree,
}

impl Ledger {
    /// Builds the genesis state; the first block to apply is `initial_height`.
    pub fn from_genesis(genesis: &Genesis) -> Result<Ledger, GenesisError> {
        genesis.validate()?;
        let mut accounts = BTreeMap::new();
        for a in &genesis.accounts {
            accounts.insert(
                a.address,
                Account {
                    balance: a.balance,
                    nonce: 0,
                },
            );
        }
        let mut validators = BTreeMap::new();
        for v in &genesis.validators {
            validators.insert(
                Address::from_public_key(&v.public_key),
                ValidatorRecord {
                    public_key: *v.public_key.as_bytes(),
                    stake: v.stake,
                },
            );
        }
        let mut actors = BTreeMap::new();
        for role in ActorRole::ALL {
            for a in genesis.actors(role) {
                actors.insert(
                    (role, Address::from_public_key(&a.public_key)),
                    ActorRecord {
                        public_key: *a.public_key.as_bytes(),
                        stake: a.stake,
                        chains: a.chains.clone(),
                        service_url: a.service_url.clone(),
                        gateways: a.gateways.clone(),
                        paused: false,
                        jailed_until: None,
                    },
                );
            }
        }
        let mut state = State {
            chain_id: genesis.chain_id.clone(),
            params: genesis.params.clone(),
            last: LastBlock {
                height: genesis.initial_height - 1,
                time_ms: genesis.genesis_time_ms,
            },
            fee_pool: 0,
            accounts,
            validators,
            unbonding: BTreeMap::new(),
            economics: ParamsHistory::new(genesis.initial_height, genesis.economics.clone()),
            actors,
            sessions: BTreeMap::new(),
        };
        // The first session begins with the first block: its actors are the genesis ones.
        exec::take_session_snapshot(&mut state, &mut Changes::default(), genesis.initial_height);
        Ok(Ledger::from_state(state))
    }

    /// Rebuilds a ledger from stored (key, value) pairs, e.g. read back from
    /// the node's database, and checks that they commit to `expected_root`.
    pub fn from_snapshot(
        entries: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
        expected_root: &Hash,
    ) -> Result<Ledger, SnapshotError> {
        let state = State::from_entries(entries)?;
        let ledger = Ledger::from_state(state);
        if ledger.state_root() != *expected_root {
            return Err(SnapshotError::RootMismatch {
                expected: *expected_root,
                computed: ledger.state_root(),
            });
        }
        if ledger.total_supply() > u128::from(MAX_TOTAL_SUPPLY) {
            return Err(SnapshotError::BadValue {
                key: "(all)".into(),
                reason: format!("total supply exceeds the maximum {MAX_TOTAL_SUPPLY}"),
            });
        }
        Ok(ledger)
    }

    fn from_state(state: State) -> Ledger {
        let leaves = state
            .entries()
            .into_iter()
            .map(|(k, v)| {
                let h = merkle::leaf_hash(&k, &v);
                (k, h)
            })
            .collect();
        Ledger {
            state,
            tree: merkle::Tree::new(leaves),
        }
    }

    /// Every stored (key, value) pair in key order: what the runtime writes
    /// at genesis, and what [`Ledger::from_snapshot`] reads back.
    pub fn snapshot(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.state.entries()
    }

    /// The commitment to the current state.
    pub fn state_root(&self) -> Hash {
        self.tree.root()
    }

    /// Height of the last applied block (`initial_height - 1` at genesis).
    pub fn height(&self) -> u64 {
        self.state.last.height
    }

    /// Time of the last applied block (genesis time at genesis).
    pub fn time_ms(&self) -> u64 {
        self.state.last.time_ms
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.state.chain_id
    }

    /// The protocol parameters.
    pub fn params(&self) -> &Params {
        &self.state.params
    }

    /// Fees collected and not yet distributed.
    pub fn fee_pool(&self) -> u64 {
        self.state.fee_pool
    }

    /// Balances + validator stakes + actor stakes + unbonding funds + fee
    /// pool. Constant across blocks.
    pub fn total_supply(&self) -> u128 {
        let s = &self.state;
        let balances: u128 = s.accounts.values().map(|a| u128::from(a.balance)).sum();
        let stakes: u128 = s.validators.values().map(|v| u128::from(v.stake)).sum();
        let actors: u128 = s.actors.values().map(|a| u128::from(a.stake)).sum();
        let unbonding: u128 = s.unbonding.values().map(|a| u128::from(*a)).sum();
        balances + stakes + actors + unbonding + u128::from(s.fee_pool)
    }

    /// The economic parameters in force for the next block.
    pub fn economics(&self) -> &EconomicParams {
        self.state
            .economics
            .at(self.state.last.height.saturating_add(1))
    }

    /// Every economic parameter value with the height it applies from.
    pub fn economics_history(&self) -> &ParamsHistory {
        &self.state.economics
    }

    /// One servicer, application or fisherman.
    pub fn actor(&self, role: ActorRole, address: &Address) -> Option<ActorView> {
        let r = self.state.actors.get(&(role, *address))?;
        ActorView::of(role, *address, r)
    }

    /// Every actor of a role, sorted by address.
    pub fn actors(&self, role: ActorRole) -> Vec<ActorView> {
        self.state
            .actors
            .range((role, Address([0; 20]))..=(role, Address([0xff; 20])))
            .filter_map(|((r, a), rec)| ActorView::of(*r, *a, rec))
            .collect()
    }

    /// The session (first and last block) containing `height`; `None`
    /// before the chain's first block.
    pub fn session_bounds(&self, height: u64) -> Option<SessionBounds> {
        self.state.economics.schedule(height)
    }

    /// Whether a relay naming the session that starts at `claimed_start` is
    /// acceptable at `height` (see [`ParamsHistory::relay_acceptable`]).
    pub fn relay_session_acceptable(&self, claimed_start: u64, height: u64) -> bool {
        self.state.economics.relay_acceptable(claimed_start, height)
    }

    /// The session of `application` on `chain` containing `height`, computed
    /// from the actors as they stood when the session began and the
    /// parameters in force at its start. `start_block_hash` is the hash of
    /// the block at the session's start height (the runtime's block store
    /// holds it; [`Ledger::session_bounds`] gives the height). Known for the
    /// sessions whose relays are still acceptable, and for the next one once
    /// the block before it is applied.
    pub fn session(
        &self,
        application: &Address,
        chain: &RelayChain,
        height: u64,
        start_block_hash: &Hash,
    ) -> Result<Session, SessionError> {
        let history = &self.state.economics;
        let bounds = history
            .schedule(height)
            .ok_or(SessionError::BeforeFirstBlock {
                height,
                first: history.first_height(),
            })?;
        let start = bounds.start;
        let snapshot = self
            .state
            .sessions
            .get(&start)
            .ok_or(SessionError::Unknown { start })?;
        let app = snapshot
            .applications
            .get(application)
            .ok_or(SessionError::NotAnApplication {
                application: *application,
                start,
            })?;
        if app.chains.binary_search(chain).is_err() {
            return Err(SessionError::ChainNotStaked {
                application: *application,
                chain: chain.clone(),
                start,
            });
        }
        let params = history.at(start);
        let id = session::session_id(start_block_hash, chain, application, start);
        let no_one = Vec::new();
        let candidates = snapshot.servicers.get(chain).unwrap_or(&no_one);
        let servicers = session::select(&id, candidates, params.servicers_per_session as usize);
        let fishermen: Vec<Address> = snapshot
            .fishermen
            .get(chain)
            .unwrap_or(&no_one)
            .iter()
            .filter(|f| !servicers.contains(f))
            .copied()
            .collect();
        let fisherman = session::select(&id, &fishermen, 1).first().copied();
        Ok(Session {
            id,
            application: *application,
            chain: chain.clone(),
            start,
            end: bounds.end,
            accept_until: history.acceptance_end(start).unwrap_or(bounds.end),
            relays_per_servicer: session::relays_per_servicer(
                app.stake,
                params.relays_per_stake,
                servicers.len(),
            ),
            servicers,
            fisherman,
            gateways: app.gateways.clone(),
            application_stake: app.stake,
        })
    }

    /// Jails an actor as of the last applied height and commits the change
    /// to the tree; the slashing rules will do this inside blocks.
    #[cfg(test)]
    pub(crate) fn jail_now(&mut self, role: ActorRole, address: &Address) -> bool {
        let mut changes = Changes::default();
        let height = self.state.last.height;
        let jailed = crate::actor_rules::jail(&mut self.state, &mut changes, role, address, height);
        self.commit(&changes);
        jailed
    }

    /// The account view for RPC (zero balance and nonce if it never existed).
    pub fn account(&self, address: &Address) -> AccountView {
        let acc = self
            .state
            .accounts
            .get(address)
            .copied()
            .unwrap_or_default();
        AccountView {
            address: *address,
            balance: acc.balance,
            nonce: acc.nonce,
            staked: self.state.validators.get(address).map_or(0, |v| v.stake),
            unbonding: self
                .state
                .unbonding
                .iter()
                .filter(|((_, a), _)| a == address)
                .map(|((h, _), amount)| UnbondingEntry {
                    amount: *amount,
                    matures_at_height: *h,
                })
                .collect(),
        }
    }

    /// The current validator set, sorted by address.
    pub fn validators(&self) -> Vec<ValidatorView> {
        self.state
            .validators
            .iter()
            .filter_map(|(addr, v)| {
                // Keys were validated when stored; a failure would skip the entry.
                let key = PublicKey::from_bytes(v.public_key).ok()?;
                Some(ValidatorView {
                    address: *addr,
                    public_key: key,
                    stake: v.stake,
                    power: v.stake,
                })
            })
            .collect()
    }

    /// The current set as (key, power) pairs sorted by key: what consensus
    /// starts from at genesis or after a restart.
    pub fn validator_set(&self) -> Vec<ValidatorUpdate> {
        let mut set: Vec<ValidatorUpdate> = self
            .validators()
            .into_iter()
            .map(|v| ValidatorUpdate {
                public_key: v.public_key,
                power: v.power,
            })
            .collect();
        set.sort();
        set
    }

    /// Mempool admission: decoding, chain id, signature, nonce not yet used,
    /// and funds for amount plus fee against the committed state.
    pub fn check_tx(&self, bytes: &[u8]) -> Result<CheckedTx, TxError> {
        let decoded = decode_tx(bytes)?;
        let sig_ok = verify_one(&decoded);
        self.check_decoded(&decoded, sig_ok)
    }

    /// [`Ledger::check_tx`] for many transactions, verifying their signatures
    /// as one batch.
    pub fn check_txs<T: AsRef<[u8]>>(&self, txs: &[T]) -> Vec<Result<CheckedTx, TxError>> {
        let decoded: Vec<Result<DecodedTx, TxError>> = txs
            .iter()
            .map(|b| decode_tx(b.as_ref()).map_err(TxError::from))
            .collect();
        let ok: Vec<&DecodedTx> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
        let mut verdicts = self.check_decoded_txs(&ok).into_iter();
        decoded
            .iter()
            .map(|d| match d {
                Ok(_) => verdicts.next().unwrap_or(Err(TxError::BadSignature)),
                Err(e) => Err(e.clone()),
            })
            .collect()
    }

    /// [`Ledger::check_txs`] for transactions the caller already decoded: signatures are
    /// verified as one batch, then each is checked against the state.
    pub fn check_decoded_txs(&self, txs: &[&DecodedTx]) -> Vec<Result<CheckedTx, TxError>> {
        let verdicts = verify_signatures(txs);
        txs.iter()
            .zip(verdicts)
            .map(|(d, sig_ok)| self.check_decoded(d, sig_ok))
            .collect()
    }

    /// Mempool re-check of a transaction whose signature the caller verified before (for
    /// example one already in the pool, against a newer state): [`Ledger::check_tx`] without
    /// decoding and signature verification.
    pub fn check_verified(&self, d: &DecodedTx) -> Result<CheckedTx, TxError> {
        self.check_decoded(d, true)
    }

    /// [`Ledger::check_tx`] for a decoded transaction whose signature the caller verified
    /// with [`crate::verify_signatures`]; `sig_ok` is that verdict.
    pub fn check_decoded(&self, d: &DecodedTx, sig_ok: bool) -> Result<CheckedTx, TxError> {
        self.check_chain(d)?;
        if !sig_ok {
            return Err(TxError::BadSignature);
        }
        let sender = d.tx.sender();
        exec::check(&self.state, &sender, &d.tx)?;
        Ok(CheckedTx {
            hash: d.hash,
            sender,
            nonce: d.tx.payload.nonce,
            next_nonce: self.state.accounts.get(&sender).map_or(0, |a| a.nonce),
            fee: d.tx.payload.fee,
            size: d.encoded_len,
        })
    }

    fn check_chain(&self, d: &DecodedTx) -> Result<(), TxError> {
        if d.tx.payload.chain_id != self.state.chain_id {
            return Err(TxError::WrongChain {
                expected: self.state.chain_id.clone(),
                got: d.tx.payload.chain_id.clone(),
            });
        }
        Ok(())
    }

    /// Checks that a block with these parameters may be applied next.
    pub fn check_block_header(
        &self,
        height: u64,
        time_ms: u64,
        tx_count: usize,
    ) -> Result<(), BlockError> {
        let expected = self.state.last.height.saturating_add(1);
        if height != expected {
            return Err(BlockError::UnexpectedHeight {
                expected,
                got: height,
            });
        }
        if time_ms < self.state.last.time_ms {
            return Err(BlockError::TimeWentBack {
                last: self.state.last.time_ms,
                got: time_ms,
            });
        }
        let max = self.state.params.max_txs_per_block;
        if tx_count > max as usize {
            return Err(BlockError::TooManyTxs {
                count: tx_count,
                max,
            });
        }
        Ok(())
    }

    /// Applies a decided block. Transactions that fail are recorded with
    /// their error and do not abort the block; signatures are verified as
    /// one batch in block order. Unbonding that matures at `height` is paid
    /// at the end. On `Err` the ledger is unchanged.
    pub fn apply_block<T: AsRef<[u8]>>(
        &mut self,
        height: u64,
        time_ms: u64,
        txs: &[T],
    ) -> Result<BlockOutcome, BlockError> {
        self.apply_block_known(height, time_ms, txs, &NoKnownTxs)
    }

    /// [`Ledger::apply_block`] for a caller that already decoded some of the transactions and
    /// verified their signatures (a mempool): those `known` returns by hash are neither decoded
    /// nor verified again; the others are, as one batch. The result is the same as
    /// `apply_block` as long as `known` only returns correctly verified transactions.
    pub fn apply_block_known<T: AsRef<[u8]>>(
        &mut self,
        height: u64,
        time_ms: u64,
        txs: &[T],
        known: &dyn KnownTxs,
    ) -> Result<BlockOutcome, BlockError> {
        self.check_block_header(height, time_ms, txs.len())?;
        let hashes: Vec<Hash> = txs.iter().map(|b| Hash::of(b.as_ref())).collect();
        let sources: Vec<Source> = txs
            .iter()
            .zip(&hashes)
            .map(|(b, h)| match known.known(h) {
                Some(tx) => Source::Known(tx),
                None => Source::Fresh(Box::new(known.decode(b.as_ref()).map_err(TxError::from))),
            })
            .collect();
        let to_verify: Vec<&DecodedTx> = sources
            .iter()
            .filter_map(|s| match s {
                Source::Fresh(fresh) => fresh.as_ref().as_ref().ok(),
                Source::Known(_) => None,
            })
            .collect();
        let mut verdicts = verify_signatures(&to_verify).into_iter();

        let mut changes = Changes::default();
        let mut tx_results = Vec::with_capacity(txs.len());
        for (hash, source) in hashes.iter().zip(&sources) {
            let decoded = match source {
                Source::Known(tx) => Ok((*tx, true)),
                Source::Fresh(fresh) => match fresh.as_ref() {
                    Ok(tx) => Ok((tx, verdicts.next().unwrap_or(false))),
                    Err(e) => Err(e),
                },
            };
            let (sender, result, fee_charged) = match decoded {
                Err(e) => (None, Err(e.clone()), 0),
                Ok((tx, sig_ok)) => {
                    let sender = tx.tx.sender();
                    let (result, fee) = self.execute(&mut changes, tx, &sender, sig_ok, height);
                    (Some(sender), result, fee)
                }
            };
            tx_results.push(TxResult {
                hash: *hash,
                result,
                fee_charged,
                sender,
            });
        }
        exec::mature_unbonding(&mut self.state, &mut changes, height);
        exec::roll_sessions(&mut self.state, &mut changes, height);
        self.state.last = LastBlock { height, time_ms };
        changes.dirty.insert(StateKey::LastBlock);

        let validator_updates = self.validator_updates(&changes);
        let write_set = self.commit(&changes);
        Ok(BlockOutcome {
            height,
            time_ms,
            tx_results,
            state_root: self.state_root(),
            validator_updates,
            write_set,
        })
    }

    fn execute(
        &mut self,
        changes: &mut Changes,
        d: &DecodedTx,
        sender: &Address,
        sig_ok: bool,
        height: u64,
    ) -> (Result<(), TxError>, u64) {
        if let Err(e) = self.check_chain(d) {
            return (Err(e), 0);
        }
        if !sig_ok {
            return (Err(TxError::BadSignature), 0);
        }
        let fee = match exec::charge(&mut self.state, changes, sender, &d.tx) {
            Ok(fee) => fee,
            Err(e) => return (Err(e), 0),
        };
        let result = exec::execute_body(&mut self.state, changes, sender, &d.tx, height);
        (result, fee)
    }

    fn validator_updates(&self, changes: &Changes) -> Vec<ValidatorUpdate> {
        let mut updates: Vec<ValidatorUpdate> = changes
            .validators_before
            .iter()
            .filter_map(|(addr, (key, before))| {
                let after = self.state.validators.get(addr).map_or(0, |v| v.stake);
                if after == *before {
                    return None;
                }
                let public_key = PublicKey::from_bytes(*key).ok()?;
                Some(ValidatorUpdate {
                    public_key,
                    power: after,
                })
            })
            .collect();
        updates.sort();
        updates
    }

    /// Turns dirty keys into the write set and refreshes the tree.
    fn commit(&mut self, changes: &Changes) -> WriteSet {
        let mut entries: Vec<(Vec<u8>, Option<Vec<u8>>)> = changes
            .dirty
            .iter()
            .map(|key| (key.encode(), self.state.value(key)))
            .collect();
        // Dirty keys are ordered by StateKey, which matches byte order.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let leaves: Vec<(Vec<u8>, Option<[u8; 32]>)> = entries
            .iter()
            .map(|(k, v)| (k.clone(), v.as_ref().map(|v| merkle::leaf_hash(k, v))))
            .collect();
        self.tree.update(&leaves);
        WriteSet { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::{GenesisAccount, GenesisValidator};
    use crate::tx::{TxBody, TxPayload};
    use ed25519_dalek::SigningKey;

    fn sk(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn genesis() -> Genesis {
        Genesis {
            chain_id: "unit".into(),
            initial_height: 10,
            genesis_time_ms: 5,
            params: Params {
                unbonding_period_blocks: 1,
                min_validator_stake: 1,
                max_txs_per_block: 100,
            },
            accounts: (1..=3)
                .map(|i| GenesisAccount {
                    address: Address::from_public_key(&PublicKey::from(sk(i).verifying_key())),
                    balance: 100,
                })
                .collect(),
            validators: vec![GenesisValidator {
                public_key: PublicKey::from(sk(9).verifying_key()),
                stake: 10,
            }],
            economics: Default::default(),
            servicers: vec![],
            applications: vec![],
            fishermen: vec![],
        }
    }

    #[test]
    fn incremental_root_equals_full_recomputation() {
        let mut l = Ledger::from_genesis(&genesis()).unwrap();
        assert_eq!(l.height(), 9);
        let txs: Vec<Vec<u8>> = (1..=3u8)
            .map(|i| {
                TxPayload {
                    chain_id: "unit".into(),
                    signer: PublicKey::from(sk(i).verifying_key()),
                    nonce: 0,
                    fee: u64::from(i),
                    body: TxBody::Stake { amount: 7 },
                }
                .sign(&sk(i))
                .encode()
            })
            .collect();
        let out = l.apply_block(10, 6, &txs).unwrap();
        assert!(out.tx_results.iter().all(|r| r.result.is_ok()));
        assert_eq!(out.validator_updates.len(), 3);
        let full = Ledger::from_state(l.state.clone());
        assert_eq!(full.state_root(), l.state_root());
        assert_eq!(full.tree, l.tree);
        let keys: Vec<&Vec<u8>> = out.write_set.entries.iter().map(|(k, _)| k).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "write set is sorted and has no duplicates");
        assert_eq!(l.fee_pool(), 6);
    }

    struct Known(Vec<DecodedTx>);

    impl KnownTxs for Known {
        fn known(&self, hash: &Hash) -> Option<&DecodedTx> {
            self.0.iter().find(|d| d.hash == *hash)
        }
    }

    #[test]
    fn known_transactions_give_the_same_outcome_as_fresh_ones() {
        let stake = |i: u8, nonce: u64| {
            TxPayload {
                chain_id: "unit".into(),
                signer: PublicKey::from(sk(i).verifying_key()),
                nonce,
                fee: 1,
                body: TxBody::Stake { amount: 3 },
            }
            .sign(&sk(i))
            .encode()
        };
        let mut bad_sig = stake(3, 0);
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        let txs = vec![stake(1, 0), stake(2, 0), bad_sig, stake(1, 1), vec![0xff]];
        let known = Known(vec![
            decode_tx(&txs[0]).unwrap(),
            decode_tx(&txs[3]).unwrap(),
        ]);
        let mut fresh = Ledger::from_genesis(&genesis()).unwrap();
        let mut with_known = fresh.clone();
        let a = fresh.apply_block(10, 6, &txs).unwrap();
        let b = with_known.apply_block_known(10, 6, &txs, &known).unwrap();
        assert_eq!(a, b);
        let codes: Vec<bool> = b.tx_results.iter().map(|r| r.result.is_ok()).collect();
        assert_eq!(codes, vec![true, true, false, true, false]);
        assert_eq!(
            with_known
                .check_verified(&decode_tx(&stake(2, 1)).unwrap())
                .map(|c| c.nonce),
            Ok(1)
        );
    }
}
