//! Times `MontageSource::fill_block` alone (development aid).
use elm_dsp::engine::{Lane, MontageSource};
use elm_dsp::kernel::LaneSource;
use std::time::Instant;

fn main() {
    let secs: usize = std::env::var("SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let (n_ch, n) = (21usize, 256 * secs);
    let data: Vec<f64> = (0..n_ch * n).map(|i| (i as f64 * 0.37).sin()).collect();
    let lanes: Vec<Lane> = (0..20).map(|i| Lane::Diff(i, i + 1)).collect();
    let src = MontageSource::new(&data, n_ch, n, lanes).unwrap();
    let chunk = 2048;
    let mut buf = vec![0.0f64; chunk * 20];
    let mut scratch = Vec::new();
    let isa = elm_dsp::simd::active();
    let reps = (200_000_000 / n).max(1);
    let t = Instant::now();
    for _ in 0..reps {
        let mut q = 0;
        while q < n {
            let len = chunk.min(n - q);
            src.fill_block(isa, 0, 20, q, len, &mut buf, 20, &mut scratch);
            q += len;
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "fill: {:.2} ns/sample ({:.1} cycles @3.65 GHz), {:.1} ms per 60-min recording",
        dt / (reps * n) as f64 * 1e9,
        dt / (reps * n) as f64 * 3.65e9,
        dt / (reps * n) as f64 * 921600.0 * 1e3
    );
}
