//! Throughput of the ledger: applying a block of 1,000 signed transfers over
//! 10,000 accounts, and the parts of that cost (signature verification as a
//! batch and one by one, decoding, the state root from scratch and as the kept tree updates it).

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use netwright_ledger::codec::DecodedTx;
use netwright_ledger::verify_one;
use netwright_ledger::{
    decode_tx, merkle, verify_signatures, Address, Genesis, GenesisAccount, GenesisValidator,
    Ledger, Params, PublicKey, TxBody, TxPayload,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ACCOUNTS: u64 = 10_000;
const BLOCK: u64 = 1_000;
const CHAIN: &str = "bench";

fn key(i: u64) -> SigningKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&i.to_le_bytes());
    b[31] = 1;
    SigningKey::from_bytes(&b)
}

fn setup() -> (Ledger, Vec<Vec<u8>>) {
    let keys: Vec<SigningKey> = (0..ACCOUNTS).map(key).collect();
    let addrs: Vec<Address> = keys
        .iter()
        .map(|k| Address::from_public_key(&PublicKey::from(k.verifying_key())))
        .collect();
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        initial_height: 1,
        genesis_time_ms: 0,
        params: Params {
            unbonding_period_blocks: 100,
            min_validator_stake: 1,
            max_txs_per_block: 100_000,
        },
        accounts: addrs
            .iter()
            .map(|a| GenesisAccount {
                address: *a,
                balance: 1_000_000,
            })
            .collect(),
        validators: (0..4)
            .map(|i| GenesisValidator {
                public_key: PublicKey::from(key(1_000_000 + i).verifying_key()),
                stake: 1_000,
            })
            .collect(),
        economics: Default::default(),
        servicers: vec![],
        applications: vec![],
        fishermen: vec![],
    };
    let ledger = Ledger::from_genesis(&genesis).expect("bench genesis is valid");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let txs = (0..BLOCK)
        .map(|i| {
            let sk = &keys[i as usize];
            let to = addrs[rng.gen_range(0..ACCOUNTS as usize)];
            TxPayload {
                chain_id: CHAIN.into(),
                signer: PublicKey::from(sk.verifying_key()),
                nonce: 0,
                fee: 1,
                body: TxBody::Transfer { to, amount: 10 },
            }
            .sign(sk)
            .encode()
        })
        .collect();
    (ledger, txs)
}

fn benches(c: &mut Criterion) {
    let (ledger, txs) = setup();
    let decoded: Vec<DecodedTx> = txs
        .iter()
        .map(|t| decode_tx(t).expect("bench tx decodes"))
        .collect();
    let refs: Vec<&DecodedTx> = decoded.iter().collect();

    let mut g = c.benchmark_group("ledger");
    g.throughput(Throughput::Elements(BLOCK));
    g.bench_function("apply_block/1000_transfers_10k_accounts", |b| {
        b.iter_batched(
            || ledger.clone(),
            |mut l| {
                let out = l.apply_block(1, 1, &txs).expect("block applies");
                assert!(out.tx_results.iter().all(|r| r.result.is_ok()));
                out
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("verify/batch_1000", |b| b.iter(|| verify_signatures(&refs)));
    g.bench_function("verify/single_1000", |b| {
        b.iter(|| refs.iter().filter(|t| verify_one(t)).count())
    });
    g.bench_function("decode/1000", |b| {
        b.iter(|| txs.iter().filter(|t| decode_tx(t).is_ok()).count())
    });
    g.bench_function("check_txs/1000", |b| b.iter(|| ledger.check_txs(&txs)));
    g.finish();

    let mut g = c.benchmark_group("state_root");
    for n in [10_000usize, 100_000] {
        let leaves: Vec<[u8; 32]> = (0..n as u64)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes(), b"0123456789abcdef"))
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("root", n), &leaves, |b, leaves| {
            b.iter(|| merkle::root(leaves.iter().copied()))
        });
        // What a block that changes 1,000 existing entries costs the kept tree: a copy (as
        // for executing a candidate block) and the update of those leaves' paths.
        let keyed: Vec<(Vec<u8>, [u8; 32])> = (0..n as u64)
            .map(|i| (i.to_be_bytes().to_vec(), leaves[i as usize]))
            .collect();
        let tree = merkle::Tree::new(keyed);
        let changes: Vec<(Vec<u8>, Option<[u8; 32]>)> = (0..n as u64)
            .step_by(n / 1_000)
            .map(|i| {
                let key = i.to_be_bytes().to_vec();
                let leaf = merkle::leaf_hash(&key, b"changed");
                (key, Some(leaf))
            })
            .collect();
        g.bench_with_input(
            BenchmarkId::new("copy_and_update_1000", n),
            &changes,
            |b, changes| {
                b.iter(|| {
                    let mut copy = tree.clone();
                    copy.update(changes);
                    copy.root()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(ledger_benches, benches);
criterion_main!(ledger_benches);
