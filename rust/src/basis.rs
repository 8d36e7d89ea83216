//! A montage as a smaller set of filtered lanes plus exact sums.
//!
//! Filtering and resampling are linear, so a bipolar channel that is a sum of
//! other channels of the montage (`FP1-F3 = (FP1-F7) + (F7-T3) + (T3-C3) -
//! (F3-C3)`) can be formed after them instead of being filtered itself. The
//! channels of a montage are edges between electrodes (a referential channel
//! is an edge to the reference, whose potential is zero); the edges of a
//! spanning forest are independent and every other edge is the signed sum of
//! the forest's path between its ends. ELM's 20-channel TCP montage reads 17
//! electrodes in one connected graph: 16 channels carry all of it and the
//! other 4 are sums of 4 of them each, so the kernel filters 16 lanes (four
//! AVX2 registers or two AVX-512 ones instead of five or two and a half).
//!
//! The forest is taken greedily in montage order (a channel joining two parts
//! is kept). Every input row the montage reads is read by a kept lane, so
//! NaN/Inf input is found and reported as for the full montage.

use crate::engine::Lane;
use std::collections::{HashMap, VecDeque};

/// Longest forest path a derived channel may sum. Each term adds one filtered
/// lane's rounding (~1e-11 of its RMS against SciPy), so the sums stay far
/// inside the engine's 1e-10 parity; longer paths keep the full montage.
pub const MAX_TERMS: usize = 8;

/// A montage's lanes split into the lanes the kernel filters and the output
/// rows formed from them afterwards.
#[derive(Clone, Debug, PartialEq)]
pub struct MontageBasis {
    /// Lanes to filter (a spanning forest of the montage), in montage order.
    pub lanes: Vec<Lane>,
    /// Output row of each of `lanes`.
    pub rows: Vec<usize>,
    /// Every other output row as `(row, terms)`: the row is the sum of
    /// `sign * lane` over `terms` of `(index into lanes, sign = +-1.0)`.
    pub derived: Vec<(usize, Vec<(usize, f64)>)>,
}

impl MontageBasis {
    /// The basis of `montage`, or `None` when its channels are independent
    /// (nothing to save) or a derived channel would need more than
    /// [`MAX_TERMS`] terms.
    pub fn new(montage: &[Lane]) -> Option<Self> {
        // Nodes: input rows, plus the reference (`None`) for `Lane::Chan`.
        let mut node: HashMap<Option<usize>, usize> = HashMap::new();
        let mut id = |k: Option<usize>| {
            let n = node.len();
            *node.entry(k).or_insert(n)
        };
        let ends: Vec<(usize, usize)> = montage
            .iter()
            .map(|l| match *l {
                Lane::Chan(c) => (id(Some(c)), id(None)),
                Lane::Diff(a, b) => (id(Some(a)), id(Some(b))),
            })
            .collect();
        let n_nodes = node.len();
        let mut parent: Vec<usize> = (0..n_nodes).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        // adj[u]: (v, kept lane k, sign) with potential(u) - potential(v) =
        // sign * lane k.
        let mut adj: Vec<Vec<(usize, usize, f64)>> = vec![Vec::new(); n_nodes];
        let mut basis = MontageBasis {
            lanes: Vec::new(),
            rows: Vec::new(),
            derived: Vec::new(),
        };
        let mut cycles = Vec::new();
        for (row, (&lane, &(u, v))) in montage.iter().zip(&ends).enumerate() {
            let (ru, rv) = (root(&mut parent, u), root(&mut parent, v));
            if u == v {
                // Zero unless its row holds NaN or Inf, which only filtering
                // it reports: kept (and outside the forest).
                basis.lanes.push(lane);
                basis.rows.push(row);
            } else if ru != rv {
                parent[ru] = rv;
                let k = basis.lanes.len();
                basis.lanes.push(lane);
                basis.rows.push(row);
                adj[u].push((v, k, 1.0));
                adj[v].push((u, k, -1.0));
            } else {
                cycles.push((row, u, v));
            }
        }
        if cycles.is_empty() {
            return None;
        }
        for (row, u, v) in cycles {
            let terms = path_terms(&adj, u, v)?;
            if terms.len() > MAX_TERMS {
                return None;
            }
            basis.derived.push((row, terms));
        }
        Some(basis)
    }

    /// Output channels (kept and derived).
    pub fn n_rows(&self) -> usize {
        self.lanes.len() + self.derived.len()
    }
}

/// `potential(u) - potential(v)` as signed kept lanes along the forest path
/// from `u` to `v` (`None` if they are not connected, which the caller's
/// union-find rules out).
fn path_terms(adj: &[Vec<(usize, usize, f64)>], u: usize, v: usize) -> Option<Vec<(usize, f64)>> {
    // Breadth-first from u; prev[x] = (previous node, lane, sign of the step).
    let mut prev: Vec<Option<(usize, usize, f64)>> = vec![None; adj.len()];
    let mut seen = vec![false; adj.len()];
    seen[u] = true;
    let mut queue = VecDeque::from([u]);
    while let Some(x) = queue.pop_front() {
        if x == v {
            break;
        }
        for &(y, k, s) in &adj[x] {
            if !seen[y] {
                seen[y] = true;
                prev[y] = Some((x, k, s));
                queue.push_back(y);
            }
        }
    }
    if !seen[v] {
        return None;
    }
    // potential(u) - potential(v) = sum over steps x -> y of
    // (potential(x) - potential(y)) = sum of s * lane k.
    let mut terms = Vec::new();
    let mut y = v;
    while y != u {
        let (x, k, s) = prev[y]?;
        terms.push((k, s));
        y = x;
    }
    terms.reverse();
    Some(terms)
}

/// ELM's TCP montage as lanes over its 17 electrodes in rows of first use
/// (`braindecode_elm.dsp.TCP_PAIRS` over `TCP_ELECTRODES`, the row order of
/// cached referential data); for tests and timing.
#[doc(hidden)]
pub fn tcp_lanes() -> Vec<Lane> {
    // The pairs of braindecode_elm.dsp.TCP_PAIRS (the definition in use).
    let pairs = "FP1-F7 F7-T3 T3-T5 T5-O1 FP2-F8 F8-T4 T4-T6 T6-O2 T3-C3 C3-CZ \
                 CZ-C4 C4-T4 FP1-F3 F3-C3 C3-P3 P3-O1 FP2-F4 F4-C4 C4-P4 P4-O2";
    let mut rows: Vec<&str> = Vec::new();
    let mut row = |e: &'static str| match rows.iter().position(|r| *r == e) {
        Some(i) => i,
        None => {
            rows.push(e);
            rows.len() - 1
        }
    };
    pairs
        .split_whitespace()
        .map(|p| {
            let (a, b) = p.split_once('-').expect("anode-cathode");
            Lane::Diff(row(a), row(b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluate every output row from random electrode potentials both ways;
    /// every row is kept or derived exactly once.
    fn check_sums(montage: &[Lane], b: &MontageBasis, n_ch: usize) {
        let pot: Vec<f64> = crate::testdata::lcg(n_ch, 3);
        let val = |l: &Lane| match *l {
            Lane::Chan(c) => pot[c],
            Lane::Diff(a, c) => pot[a] - pot[c],
        };
        let kept: Vec<f64> = b.lanes.iter().map(val).collect();
        for (k, &r) in b.rows.iter().enumerate() {
            assert_eq!(b.lanes[k], montage[r]);
        }
        for (r, terms) in &b.derived {
            let sum: f64 = terms.iter().map(|&(k, s)| s * kept[k]).sum();
            assert!(
                (sum - val(&montage[*r])).abs() < 1e-12,
                "row {r}: {terms:?}"
            );
        }
        let mut all: Vec<usize> = b.rows.clone();
        all.extend(b.derived.iter().map(|d| d.0));
        all.sort_unstable();
        assert_eq!(all, (0..montage.len()).collect::<Vec<_>>());
    }

    #[test]
    fn tcp_keeps_16_channels_and_derives_4_from_4_terms_each() {
        let m = tcp_lanes();
        let b = MontageBasis::new(&m).expect("TCP has cycles");
        assert_eq!(b.lanes.len(), 16);
        assert_eq!(
            b.derived.iter().map(|d| d.0).collect::<Vec<_>>(),
            vec![13, 15, 17, 19]
        );
        assert!(b.derived.iter().all(|d| d.1.len() == 4));
        check_sums(&m, &b, 17);
    }

    #[test]
    fn independent_channels_have_no_basis() {
        assert_eq!(MontageBasis::new(&[Lane::Chan(0), Lane::Chan(1)]), None);
        let chain: Vec<Lane> = (0..20).map(|i| Lane::Diff(i, i + 1)).collect();
        assert_eq!(MontageBasis::new(&chain), None);
    }

    #[test]
    fn referential_and_duplicate_channels_are_derived_self_differences_kept() {
        // row 2 = Chan(0) - Chan(1); row 3 repeats row 0; row 4 is zero but
        // kept (only filtering it reports NaN in input row 2); row 5
        // reverses row 2.
        let m = [
            Lane::Chan(0),
            Lane::Chan(1),
            Lane::Diff(0, 1),
            Lane::Chan(0),
            Lane::Diff(2, 2),
            Lane::Diff(1, 0),
        ];
        let b = MontageBasis::new(&m).unwrap();
        assert_eq!(
            b.lanes,
            vec![Lane::Chan(0), Lane::Chan(1), Lane::Diff(2, 2)]
        );
        assert_eq!(b.derived[0], (2, vec![(0, 1.0), (1, -1.0)]));
        assert_eq!(b.derived[1], (3, vec![(0, 1.0)]));
        assert_eq!(b.derived[2], (5, vec![(1, 1.0), (0, -1.0)]));
        check_sums(&m, &b, 3);
        // A self-difference of a known row is kept too: nothing to derive.
        assert_eq!(MontageBasis::new(&[Lane::Chan(0), Lane::Diff(0, 0)]), None);
    }

    #[test]
    fn long_cycles_keep_the_full_montage() {
        // A ring of 11 electrodes: the closing channel would sum 10 terms.
        let mut ring: Vec<Lane> = (0..10).map(|i| Lane::Diff(i, i + 1)).collect();
        ring.push(Lane::Diff(10, 0));
        assert_eq!(MontageBasis::new(&ring), None);
        ring.truncate(MAX_TERMS);
        ring.push(Lane::Diff(MAX_TERMS, 0));
        let b = MontageBasis::new(&ring).unwrap();
        assert_eq!(b.derived[0].1.len(), MAX_TERMS);
        check_sums(&ring, &b, MAX_TERMS + 1);
    }
}
