//! Deterministic test signals shared by the crate's tests, integration tests
//! and timing examples (not part of the engine's API).

/// `n` values uniform in [-0.5, 0.5) from a 64-bit LCG started at `seed`
/// (Knuth's MMIX constants; the top 53 bits of each state).
pub fn lcg(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}
