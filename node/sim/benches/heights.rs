//! Simulated heights decided per second of real time, for 4 and 100 validators on a healthy
//! network (latency and jitter only) and, for 4 validators, with every fault enabled.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netwright_sim::{run, Faults, SimConfig};
use std::time::Duration;

fn bench(c: &mut Criterion, name: &str, validators: usize, faults: &str, heights: u64) {
    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements(heights));
    let mut seed = 0u64;
    g.bench_function(name, |b| {
        b.iter(|| {
            seed += 1;
            let mut cfg = SimConfig::new(seed, validators, Faults::parse(faults).expect("valid"));
            cfg.heights = heights;
            run(&cfg).expect("no violation")
        })
    });
    g.finish();
}

fn heights(c: &mut Criterion) {
    bench(c, "heights_4_validators", 4, "none", 20);
    bench(c, "heights_4_validators_all_faults", 4, "all", 20);
    bench(c, "heights_100_validators", 100, "none", 3);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_millis(500));
    targets = heights
}
criterion_main!(benches);
