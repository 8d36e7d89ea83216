//! Zero-phase filtering and polyphase decimation in one sweep over the input,
//! by superposition.
//!
//! `sosfiltfilt` runs the cascade forward over the whole (padded) signal, then
//! backward from the end. The kernel of [`crate::kernel`] therefore walks the
//! input twice: once forward to learn the state at every chunk start, then
//! backward, recomputing each chunk's forward output. This module reads the
//! input once, in time order:
//!
//! * the forward pass runs chunk after chunk with its true, continuous state;
//! * each chunk's backward pass starts from a **zero** state (the true one,
//!   `S_c`, depends on everything newer and is not known yet); its output
//!   `y0_c` and its final state `sigma_c` are kept, and `y0_c` goes straight
//!   into the decimator;
//! * the backward pass is linear, so the true output of chunk `c` is
//!   `y0_c + sum_j S_c[j] h_j`, with `h_j` the zero-input response of the
//!   cascade from unit state `j` (the same for every full chunk), and
//!   `S_c = Phi S_{c+1} + sigma_{c+1}` (`Phi`: the state after a chunk of zero
//!   input). Decimation is linear too: the correction is added to the
//!   *decimated* outputs with the decimated `h_j` (also the same for every
//!   chunk inside the signal, because the chunk length is a multiple of
//!   `down`, so the output grid repeats chunk after chunk);
//! * `Phi^m` falls fast (the slowest pole of a 0.1 Hz high-pass at 256 Hz
//!   loses a factor ~100 per 2048-sample chunk), so `S_c` is, to far below
//!   rounding (`|Phi^M| < 1e-20`), `sigma_{c+1} + Phi sigma_{c+2} + ... +
//!   Phi^(M-1) sigma_{c+M}`: chunk `c` is finished `M` chunks later, while its
//!   outputs are still in cache. The last `M` chunks use the exact recursion
//!   from the true end state.
//!
//! Only for band-pass + decimation without clipping and with zero padding of
//! the resampler (clipping is not linear; the reflect padding folds the
//! correction of edge chunks back into the signal). Every other case runs the
//! two-pass kernel. Both agree with SciPy to the same tolerance (tested).

#[cfg(target_arch = "x86_64")]
use crate::decim::dot_pair;
use crate::decim::dot_rows;
use crate::kernel::{fmadd, run_sections, Block, FilterSpec, Prefetcher, RowWriter, State};
use crate::polyphase::{PolyPlan, ResamplePad};
use crate::DspError;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// Target chunk length (rounded to a multiple of `down`).
const TARGET_CHUNK: usize = 2048;
/// `|Phi^M|` below which the truncated state sum is exact to rounding (the
/// states are at most ~1e4 times the outputs they produce).
const TRUNC_TOL: f64 = 1e-20;

/// Bases of recent filters (the double-double simulation costs ~1 ms).
static BASES: Mutex<Vec<(Vec<u64>, Arc<Basis>)>> = Mutex::new(Vec::new());

/// Key of a decimated basis: plan (up, down, longest phase), grid phase of
/// the chunk start, filter key.
type DecKey = (usize, usize, usize, usize, Vec<u64>);

/// Decimated bases of interior chunks: (first output relative to the first
/// output reaching the chunk, values).
#[allow(clippy::type_complexity)]
static DEC_BASES: Mutex<Vec<(DecKey, (isize, Arc<Vec<f64>>))>> = Mutex::new(Vec::new());

fn key_of(c: &[[f64; 4]], l: usize, out_scale: f64) -> Vec<u64> {
    c.iter()
        .flatten()
        .map(|v| v.to_bits())
        .chain([l as u64, out_scale.to_bits()])
        .collect()
}

thread_local! {
    /// Working buffers reused across calls: fresh ones of this size are
    /// mmap-ed, and their page faults cost ~1 ms per call.
    static SPARE: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` values (contents unspecified) from this thread's spares.
fn take_buf(len: usize) -> Vec<f64> {
    let mut v = SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_default();
    v.resize(len, 0.0);
    v
}

/// A working buffer whose first value sits on a 64-byte boundary, so that
/// the 256-bit rows of a block (20 lanes: 160 bytes) never straddle a cache
/// line. `malloc` places large buffers 16 bytes past a page boundary: the
/// sweeps' loads and stores then split across lines and the filter sweeps
/// ran ~10 % slower in isolation.
struct AlignedBuf {
    v: Vec<f64>,
    off: usize,
    len: usize,
}

impl AlignedBuf {
    fn take(len: usize) -> Self {
        let v = take_buf(len + 8);
        let off = v.as_ptr().align_offset(64).min(8);
        Self { v, off, len }
    }

    fn give(self) {
        give_buf(self.v);
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.v[self.off..self.off + self.len]
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut self.v[self.off..self.off + self.len]
    }
}

fn give_buf(v: Vec<f64>) {
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < 4 {
            s.push(v);
        }
    });
}

/// `a + b` exactly as a double-double (Knuth's two-sum).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Double-double sum (accurate to ~2^-104 relative).
#[inline(always)]
fn dd_add(ah: f64, al: f64, bh: f64, bl: f64) -> (f64, f64) {
    let (s, e) = two_sum(ah, bh);
    let e = e + (al + bl);
    let h = s + e;
    (h, e - (h - s))
}

/// Double-double times a double (the exact product error from an FMA).
#[inline(always)]
fn dd_mul(ah: f64, al: f64, c: f64) -> (f64, f64) {
    let p = ah * c;
    let e = ah.mul_add(c, -p) + al * c;
    let h = p + e;
    (h, e - (h - p))
}

/// Longest chunk (samples); slower filters run the two-pass kernel.
const MAX_CHUNK: usize = 16384;

/// Whether [`filtfilt_decimate`] handles this filter and resampler.
pub fn applies(spec: &FilterSpec, plan: &PolyPlan, n_times: usize) -> bool {
    match chunk_len(spec, plan) {
        Some(l) => {
            spec.onepass
                && spec.clip.is_none()
                && plan.pad == ResamplePad::Constant
                && n_times + 2 * spec.pad > 2 * l
        }
        None => false,
    }
}

/// Largest pole radius of the cascade.
fn pole_radius(coef: &[[f64; 4]]) -> f64 {
    coef.iter()
        .map(|&[_, _, a1, a2]| {
            let disc = a1 * a1 - 4.0 * a2;
            if disc < 0.0 {
                a2.sqrt()
            } else {
                let s = disc.sqrt();
                ((-a1 + s) / 2.0).abs().max(((-a1 - s) / 2.0).abs())
            }
        })
        .fold(0.0, f64::max)
}

/// Chunk length: a multiple of `down` (so the output grid repeats chunk after
/// chunk) over which the slowest mode decays 10-fold. Each chunk's backward
/// pass starts from a zero state, and the correction cancels the start-up
/// transient; what of it is left at the chunk's end is carried by the state
/// recursion, and the more is left, the more rounding the cancellation
/// costs (at 1000 Hz, 2040-sample chunks, where a 0.1 Hz mode keeps 61 %,
/// were 4x less accurate against SciPy than the two-pass kernel; from ~35 %
/// on they are as accurate). `None` when that needs over [`MAX_CHUNK`].
fn chunk_len(spec: &FilterSpec, plan: &PolyPlan) -> Option<usize> {
    let r = pole_radius(&spec.coef);
    if r.is_nan() || r >= 1.0 {
        return None;
    }
    let need = (10f64.ln() / -r.ln()).ceil();
    if need.is_nan() || need > MAX_CHUNK as f64 {
        return None;
    }
    let l = (need as usize).max(TARGET_CHUNK);
    let l = l.div_ceil(plan.down) * plan.down;
    (l <= MAX_CHUNK).then_some(l)
}

/// Magnitude below which a basis value is set to zero.
const TINY: f64 = 1e-250;
/// Magnitude below which a zero-input response from a unit state (and an
/// entry of `Phi`) is set to zero: its term in an output is under 1e-30
/// times a filter state (the states are at most ~1e7 times the signal), far
/// below rounding. The fast sections' responses fall below it after ~190 samples
/// at 256 Hz, so most outputs of a chunk skip their terms in the
/// correction.
const TINY_UNIT: f64 = 1e-30;

/// `v`, or zero when `|v| < TINY`.
///
/// The fast sections' zero-input responses decay through the subnormal
/// range within a chunk (a pole of radius 0.27 at 256 Hz reaches 5e-324
/// after ~550 samples, and two entries of `Phi` are subnormal). A product
/// with a subnormal operand takes a microcode assist on x86 (~100 cycles):
/// the state sum and the correction ran ~8x slower than their FMA count.
/// A dropped term changes an output by under 1e-250 times a filter state,
/// i.e. by under ~1e-240 of the signal, far below rounding.
#[inline(always)]
fn flush_tiny(v: f64) -> f64 {
    if v.abs() < TINY {
        0.0
    } else {
        v
    }
}

/// `v`, or zero when `|v| < TINY_UNIT` (values of unit-state responses).
#[inline(always)]
fn flush_unit(v: f64) -> f64 {
    if v.abs() < TINY_UNIT {
        0.0
    } else {
        v
    }
}

/// Zero-input responses of the cascade over one chunk (`ns2 = 2 * sections`
/// unit states): `h[t * ns2 + j]` is the output `t` samples after the start,
/// times `out_scale`; `phi[i * ns2 + j]` the state `i` after `l` samples.
struct Basis {
    ns2: usize,
    h: Vec<f64>,
    phi: Vec<f64>,
    /// `phi` with every entry repeated over four lanes (a register's worth:
    /// read as a memory operand by [`horner`], no broadcast register).
    phi4: Vec<[f64; 4]>,
}

impl Basis {
    /// Simulate the cascade from each unit state in double-double arithmetic:
    /// the correction `sum_j S_j h_j` adds terms up to ~1000x larger than
    /// the result (the states of the low-frequency sections), so plain f64
    /// responses (relative error ~1e-12 after 2000 steps of a pole at
    /// 0.9994) would cost ~1e-9 of accuracy at 1000 Hz; double-double makes
    /// the basis exact to f64 rounding. All unit states run side by side.
    #[inline(always)]
    fn new(coef: &[[f64; 4]], l: usize, out_scale: f64) -> Self {
        const MAXS: usize = 2 * crate::kernel::MAX_SECTIONS;
        let ns = coef.len();
        let ns2 = 2 * ns;
        let mut h = vec![0.0; l * ns2];
        let mut phi = vec![0.0; ns2 * ns2];
        // z[s][i]: state i of section s for every unit state j (lanes).
        let mut zh = vec![[[0.0f64; MAXS]; 2]; ns];
        let mut zl = vec![[[0.0f64; MAXS]; 2]; ns];
        for j in 0..ns2 {
            zh[j / 2][j % 2][j] = 1.0;
        }
        for t in 0..l {
            let mut xh = [0.0f64; MAXS];
            let mut xl = [0.0f64; MAXS];
            for (s, c) in coef.iter().enumerate() {
                let [b1, b2, a1, a2] = *c;
                for j in 0..ns2 {
                    let (yh, yl) = dd_add(xh[j], xl[j], zh[s][0][j], zl[s][0][j]);
                    let (ph, pl) = dd_mul(xh[j], xl[j], b1);
                    let (qh, ql) = dd_add(ph, pl, zh[s][1][j], zl[s][1][j]);
                    let (rh, rl) = dd_mul(yh, yl, -a1);
                    (zh[s][0][j], zl[s][0][j]) = dd_add(qh, ql, rh, rl);
                    let (ph, pl) = dd_mul(xh[j], xl[j], b2);
                    let (rh, rl) = dd_mul(yh, yl, -a2);
                    (zh[s][1][j], zl[s][1][j]) = dd_add(ph, pl, rh, rl);
                    xh[j] = yh;
                    xl[j] = yl;
                }
            }
            for j in 0..ns2 {
                h[t * ns2 + j] = flush_unit(xh[j] + xl[j]) * out_scale;
            }
        }
        for s in 0..ns {
            for i in 0..2 {
                for j in 0..ns2 {
                    phi[(2 * s + i) * ns2 + j] = flush_unit(zh[s][i][j] + zl[s][i][j]);
                }
            }
        }
        let phi4 = phi.iter().map(|&v| [v; 4]).collect();
        Self { ns2, h, phi, phi4 }
    }

    /// Smallest `M` with `|Phi^M|_inf < TRUNC_TOL` (at most `cap`).
    fn truncation(&self, cap: usize) -> usize {
        let n = self.ns2;
        let mut p = self.phi.clone();
        let mut m = 1;
        let norm = |p: &[f64]| {
            (0..n)
                .map(|i| p[i * n..(i + 1) * n].iter().map(|v| v.abs()).sum::<f64>())
                .fold(0.0, f64::max)
        };
        while m < cap && norm(&p) >= TRUNC_TOL {
            let mut q = vec![0.0; n * n];
            for i in 0..n {
                for k in 0..n {
                    let a = p[i * n + k];
                    for j in 0..n {
                        q[i * n + j] += a * self.phi[k * n + j];
                    }
                }
            }
            p = q;
            m += 1;
        }
        m
    }
}

/// The decimated `h_j` of one chunk: `d[(k - k0) * ns2 + j]` for outputs
/// `k0..k0 + nk`.
struct DecBasis {
    k0: usize,
    nk: usize,
    d: Vec<f64>,
}

/// First output whose newest input is at or after sample `q`.
fn first_k_reaching(plan: &PolyPlan, q: usize) -> usize {
    let mut k = (q * plan.up / plan.down).saturating_sub(plan.max_len * plan.up / plan.down + 2);
    while plan.locate(k).0 < q {
        k += 1;
    }
    while k > 0 && plan.locate(k - 1).0 >= q {
        k -= 1;
    }
    k
}

struct Geometry {
    n: usize,
    pad: usize,
    l: usize,
    n_out: usize,
}

impl Geometry {
    /// Signal samples `[qs, qe)` of chunk `c` (empty when it is all padding).
    fn span(&self, c: usize) -> (usize, usize) {
        let e0 = c * self.l;
        let qs = e0.max(self.pad) - self.pad;
        let qe = (e0 + self.l)
            .min(self.pad + self.n)
            .saturating_sub(self.pad);
        (qs, qe.max(qs))
    }

    /// True when chunk `c` lies wholly inside the signal.
    fn interior(&self, c: usize) -> bool {
        let e0 = c * self.l;
        e0 >= self.pad && e0 + self.l <= self.pad + self.n
    }

    fn dec_basis(&self, plan: &PolyPlan, basis: &Basis, c: usize) -> DecBasis {
        let ns2 = basis.ns2;
        let (qs, qe) = self.span(c);
        if qs >= qe {
            return DecBasis {
                k0: 0,
                nk: 0,
                d: Vec::new(),
            };
        }
        // Sample q is t = newest - (q + pad) samples into the backward pass.
        let newest = c * self.l + self.l - 1;
        let k0 = first_k_reaching(plan, qs);
        let mut d = Vec::new();
        let mut k = k0;
        while k < self.n_out {
            let (q_hi, taps) = plan.locate(k);
            let q_lo = q_hi as isize - taps.len() as isize + 1;
            if q_lo > qe as isize - 1 {
                break;
            }
            let base = d.len();
            d.resize(base + ns2, 0.0);
            let a = (q_lo.max(qs as isize)) as usize;
            let b = q_hi.min(qe - 1);
            for q in a..=b {
                let tap = taps[(q as isize - q_lo) as usize];
                let t = newest - (q + self.pad);
                for j in 0..ns2 {
                    d[base + j] += tap * basis.h[t * ns2 + j];
                }
            }
            k += 1;
        }
        d.iter_mut().for_each(|v| *v = flush_tiny(*v));
        DecBasis { k0, nk: k - k0, d }
    }
}

/// Decimated outputs waiting for their corrections, slot `k % cap`.
struct Pending<const W: usize> {
    buf: AlignedBuf,
    cap: usize,
    /// Outputs below this are written out.
    flushed: usize,
}

impl<const W: usize> Pending<W> {
    fn flush(&mut self, upto: usize, writer: &mut dyn RowWriter) {
        while self.flushed < upto {
            let s = self.flushed % self.cap;
            let cnt = (upto - self.flushed).min(self.cap - s);
            writer.write(self.flushed, cnt, &self.buf[s * W..(s + cnt) * W], W);
            self.flushed += cnt;
        }
    }
}

/// Add `sum_j S[j] D_j` to the pending outputs `k0..k0 + nk` of one chunk
/// (`PAIR`: the AVX-512 kernel, which has a register kernel for 20 lanes).
#[inline(always)]
fn correct<const W: usize, const NS: usize, const FMA: bool, const PAIR: bool>(
    pend: &mut Pending<W>,
    (k0, nk, d): (usize, usize, &[f64]),
    st: &State<W, NS>,
    n_out: usize,
) {
    let ns2 = 2 * NS;
    // The states as one flat list; each output accumulates in registers, in
    // two chains (even and odd states) so the FMA latency does not bind.
    let sv: &[[f64; W]] = st.as_flattened();
    // States of the first half of the sections (the fast ones: SciPy orders
    // the sections by pole radius), an even count so that the two chains
    // keep their terms.
    let zlead = 2 * (NS / 2);
    let mut slot = k0 % pend.cap;
    #[cfg(target_arch = "x86_64")]
    if W == 20 && NS == 4 && FMA && PAIR {
        // SAFETY: 20-lane FMA kernels run only where AVX-512 exists.
        unsafe {
            correct20(
                &mut pend.buf,
                pend.cap,
                slot,
                nk.min(n_out.saturating_sub(k0)),
                d,
                sv.as_ptr() as *const f64,
            )
        };
        return;
    }
    for i in 0..nk.min(n_out.saturating_sub(k0)) {
        // The pending outputs were written M chunks ago (L3 by now): fetch
        // a later one while this one is corrected.
        #[cfg(target_arch = "x86_64")]
        {
            let ahead = if slot + 16 < pend.cap {
                slot + 16
            } else {
                (slot + 16) % pend.cap
            };
            let line = pend.buf[ahead * W..ahead * W + W].as_ptr();
            for b in (0..W).step_by(8) {
                // SAFETY: prefetching never faults; the address lies in `buf`.
                unsafe {
                    use std::arch::x86_64::*;
                    _mm_prefetch::<_MM_HINT_T0>(line.add(b) as *const i8);
                }
            }
        }
        let dk = &d[i * ns2..(i + 1) * ns2];
        let out: &mut [f64; W] = (&mut pend.buf[slot * W..slot * W + W]).try_into().unwrap();
        let mut acc = *out;
        let mut acc2 = [0.0f64; W];
        macro_rules! terms {
            ($from:expr) => {
                for j in ($from..ns2).step_by(2) {
                    let (d0, s0, d1, s1) = (dk[j], &sv[j], dk[j + 1], &sv[j + 1]);
                    for l in 0..W {
                        acc[l] = fmadd::<FMA>(d0, s0[l], acc[l]);
                        acc2[l] = fmadd::<FMA>(d1, s1[l], acc2[l]);
                    }
                }
            };
        }
        // Zero terms add nothing (exactly): skip the fast sections' states
        // once their responses have decayed (see `TINY_UNIT`).
        if dk[..zlead].iter().all(|&v| v == 0.0) {
            terms!(zlead);
        } else {
            terms!(0);
        }
        for l in 0..W {
            out[l] = acc[l] + acc2[l];
        }
        slot += 1;
        if slot == pend.cap {
            slot = 0;
        }
    }
}

/// [`correct`] for 20 lanes and 4 sections with the 8 states in 24 AVX-512
/// registers for the whole chunk.
///
/// # Safety
/// AVX-512F/VL and FMA; `sv` points to 8 x 20 values; `d` holds `nk * 8`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,fma")]
unsafe fn correct20(
    buf: &mut [f64],
    cap: usize,
    mut slot: usize,
    nk: usize,
    d: &[f64],
    sv: *const f64,
) {
    use std::arch::x86_64::*;
    assert!(d.len() >= nk * 8 && buf.len() >= cap * 20);
    let mut s0 = [_mm512_setzero_pd(); 8];
    let mut s1 = [_mm512_setzero_pd(); 8];
    let mut s2 = [_mm256_setzero_pd(); 8];
    for j in 0..8 {
        s0[j] = _mm512_loadu_pd(sv.add(20 * j));
        s1[j] = _mm512_loadu_pd(sv.add(20 * j + 8));
        s2[j] = _mm256_loadu_pd(sv.add(20 * j + 16));
    }
    let b = buf.as_mut_ptr();
    let dp = d.as_ptr();
    for i in 0..nk {
        let q = b.add(slot * 20);
        // The pending outputs were written M chunks ago (L3 by now).
        let ahead = (slot + 16) % cap;
        _mm_prefetch::<_MM_HINT_T0>(b.add(ahead * 20) as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(b.add(ahead * 20 + 8) as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(b.add(ahead * 20 + 16) as *const i8);
        // Even states onto the output, odd states apart, then their sum: the
        // generic code's order, so a recording gives the same bits whatever
        // block width its lanes run in (one thread or several).
        let mut a0 = _mm512_loadu_pd(q);
        let mut a1 = _mm512_loadu_pd(q.add(8));
        let mut a2 = _mm256_loadu_pd(q.add(16));
        let (mut e0, mut e1, mut e2) = (
            _mm512_setzero_pd(),
            _mm512_setzero_pd(),
            _mm256_setzero_pd(),
        );
        macro_rules! terms {
            ($from:expr) => {
                for j in ($from..8).step_by(2) {
                    let c = _mm512_set1_pd(*dp.add(i * 8 + j));
                    let c2 = _mm512_set1_pd(*dp.add(i * 8 + j + 1));
                    a0 = _mm512_fmadd_pd(c, s0[j], a0);
                    a1 = _mm512_fmadd_pd(c, s1[j], a1);
                    a2 = _mm256_fmadd_pd(_mm512_castpd512_pd256(c), s2[j], a2);
                    e0 = _mm512_fmadd_pd(c2, s0[j + 1], e0);
                    e1 = _mm512_fmadd_pd(c2, s1[j + 1], e1);
                    e2 = _mm256_fmadd_pd(_mm512_castpd512_pd256(c2), s2[j + 1], e2);
                }
            };
        }
        // As in `correct`: the fast sections' zero terms are skipped.
        if d[i * 8..i * 8 + 4].iter().all(|&v| v == 0.0) {
            terms!(4);
        } else {
            terms!(0);
        }
        _mm512_storeu_pd(q, _mm512_add_pd(a0, e0));
        _mm512_storeu_pd(q.add(8), _mm512_add_pd(a1, e1));
        _mm256_storeu_pd(q.add(16), _mm256_add_pd(a2, e2));
        slot += 1;
        if slot == cap {
            slot = 0;
        }
    }
}

/// `Phi * S` for every lane.
///
/// Four lanes (one 256-bit register) at a time, with every output state's
/// accumulator of those lanes in registers and the input states read once:
/// the row-by-row form (one accumulator chain per output state, the inputs
/// reloaded from the stack for every row) ran ~10x slower than its FMA count
/// at AVX2 and was ~5 % of the whole kernel. Each accumulator still sums its
/// terms in input-state order from zero, so the result is bit-identical.
#[inline(always)]
fn phi_mul<const W: usize, const NS: usize, const FMA: bool>(
    basis: &Basis,
    s: &State<W, NS>,
) -> State<W, NS> {
    const G: usize = 4;
    let ns2 = 2 * NS;
    let phi: &[f64] = &basis.phi[..ns2 * ns2];
    let sv: &[[f64; W]] = s.as_flattened();
    let mut r = [[[0.0; W]; 2]; NS];
    let mut l0 = 0;
    while l0 < W {
        let g = G.min(W - l0);
        let mut acc = [[[0.0f64; G]; 2]; NS];
        for (j, sj) in sv.iter().enumerate() {
            let mut x = [0.0f64; G];
            x[..g].copy_from_slice(&sj[l0..l0 + g]);
            for i in 0..ns2 {
                let p = phi[i * ns2 + j];
                let a = &mut acc[i / 2][i % 2];
                for l in 0..G {
                    a[l] = fmadd::<FMA>(p, x[l], a[l]);
                }
            }
        }
        for i in 0..ns2 {
            r[i / 2][i % 2][l0..l0 + g].copy_from_slice(&acc[i / 2][i % 2][..g]);
        }
        l0 += G;
    }
    r
}

/// `sig[0] + Phi (sig[1] + Phi (... + Phi sig[m - 1]))` for every lane: the
/// truncated state sum of a chunk, `phi_mul` then `add_state` per term.
///
/// Term by term, and within a term four lanes at a time with the eight
/// accumulators in registers (`Phi` read as memory operands, no broadcast
/// register): the lane groups of one term are independent, so their FMA
/// chains overlap. The `sig` states were written up to `m` chunks ago and
/// may have left the caches; each term's are prefetched one term ahead.
/// The row-by-row form (one accumulator chain per output state, every
/// product stored and reloaded) cost ~5 % of the kernel at AVX2. Same
/// operations in the same order as `phi_mul` + `add_state` (bit-identical).
#[inline(always)]
fn horner<const W: usize, const NS: usize, const FMA: bool>(
    basis: &Basis,
    sig: &[State<W, NS>],
) -> State<W, NS> {
    const G: usize = 4;
    let ns2 = 2 * NS;
    let m = sig.len();
    let phi4: &[[f64; 4]] = &basis.phi4[..ns2 * ns2];
    // Every block width is a multiple of four lanes.
    assert!(W.is_multiple_of(G));
    #[inline(always)]
    fn prefetch<T>(v: &T) {
        #[cfg(target_arch = "x86_64")]
        {
            let p = v as *const T as *const u8;
            for b in (0..std::mem::size_of::<T>()).step_by(64) {
                // SAFETY: prefetching never faults; the address lies in `v`.
                unsafe {
                    use std::arch::x86_64::*;
                    _mm_prefetch::<_MM_HINT_T0>(p.add(b) as *const i8);
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = v;
    }
    let mut s = sig[m - 1];
    if m >= 2 {
        prefetch(&sig[m - 2]);
    }
    for t in (0..m.saturating_sub(1)).rev() {
        if t >= 1 {
            prefetch(&sig[t - 1]);
        }
        let add = &sig[t];
        let mut l0 = 0;
        while l0 < W {
            let mut acc = [[[0.0f64; G]; 2]; NS];
            for j in 0..ns2 {
                let mut x = [0.0f64; G];
                x.copy_from_slice(&s[j / 2][j % 2][l0..l0 + G]);
                for i in 0..ns2 {
                    let p = &phi4[i * ns2 + j];
                    let a = &mut acc[i / 2][i % 2];
                    for l in 0..G {
                        a[l] = fmadd::<FMA>(p[l], x[l], a[l]);
                    }
                }
            }
            for i in 0..ns2 {
                let a = &mut acc[i / 2][i % 2];
                let o = &mut s[i / 2][i % 2][l0..l0 + G];
                for l in 0..G {
                    o[l] = a[l] + add[i / 2][i % 2][l0 + l];
                }
            }
            l0 += G;
        }
    }
    s
}

#[inline(always)]
fn add_state<const W: usize, const NS: usize>(a: &mut State<W, NS>, b: &State<W, NS>) {
    for (x, y) in a.iter_mut().flatten().zip(b.iter().flatten()) {
        for l in 0..W {
            x[l] += y[l];
        }
    }
}

/// Ascending polyphase decimator over the concatenated chunk outputs.
struct Decim {
    /// Rows (lane-interleaved) of samples `carry_q0..` still needed.
    carry: Vec<f64>,
    carry_q0: usize,
    k_next: usize,
}

/// Filter and decimate lanes of `block` in one sweep (see the module docs).
#[inline(always)]
pub(crate) fn filtfilt_decimate<
    const W: usize,
    const NS: usize,
    const FMA: bool,
    const PAIR: bool,
>(
    block: &Block<'_>,
    spec: &FilterSpec,
    plan: &PolyPlan,
    writer: &mut dyn RowWriter,
) -> Result<(), DspError> {
    let n = block.src.n_times();
    let pad = spec.pad;
    let n_ext = n + 2 * pad;
    let l = chunk_len(spec, plan).expect("checked by `applies`");
    let nchunks = n_ext.div_ceil(l);
    let n_out = plan.n_out(n);
    let geo = Geometry { n, pad, l, n_out };
    let c: [[f64; 4]; NS] = spec.coef[..NS].try_into().unwrap();
    let out_scale = spec.scale.unwrap_or(1.0) * spec.gain * spec.gain;
    let key = key_of(&c, l, out_scale);
    let cached = BASES
        .lock()
        .ok()
        .and_then(|b| b.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()));
    let basis = match cached {
        Some(b) => b,
        None => {
            let b = Arc::new(Basis::new(&c, l, out_scale));
            if let Ok(mut cache) = BASES.lock() {
                if cache.len() >= 8 {
                    cache.remove(0);
                }
                cache.push((key, b.clone()));
            }
            b
        }
    };
    let m_trunc = basis.truncation(nchunks);
    // Decimated basis of the chunks inside the signal (all alike, shifted by
    // `l * up / down` outputs per chunk).
    let ref_chunk = (0..nchunks).find(|&ch| geo.interior(ch));
    // (Cached: it depends on the filter, the plan and where chunk starts fall
    // on the output grid, not on the recording.)
    let ref_db = ref_chunk.map(|ch| {
        let (qs, _) = geo.span(ch);
        let k0 = first_k_reaching(plan, qs);
        let key = (
            plan.up,
            plan.down,
            plan.max_len,
            qs % plan.down,
            key_of(&c, l, out_scale),
        );
        let hit = DEC_BASES
            .lock()
            .ok()
            .and_then(|b| b.iter().find(|(k, _)| *k == key).map(|(_, d)| d.clone()));
        let db = match hit {
            // Same grid alignment: the same values, at this chunk's outputs.
            Some((rel, d)) => DecBasis {
                k0: k0.checked_add_signed(rel).unwrap_or(k0),
                nk: d.len() / (2 * NS),
                d: d.to_vec(),
            },
            None => {
                let db = geo.dec_basis(plan, &basis, ch);
                // (Only a basis not cut short by the end of the recording.)
                let complete = db.k0 + db.nk < n_out;
                if let (true, Ok(mut cache)) = (complete, DEC_BASES.lock()) {
                    if cache.len() >= 8 {
                        cache.remove(0);
                    }
                    let rel = db.k0 as isize - k0 as isize;
                    cache.push((key, (rel, Arc::new(db.d.clone()))));
                }
                db
            }
        };
        (ch, db)
    });
    let shift = l / plan.down * plan.up;
    // Chunks at the edges (padding inside) get their own decimated basis.
    let mut own: DecBasis;
    macro_rules! basis_of {
        ($ch:expr) => {{
            let ch = $ch;
            match &ref_db {
                Some((rc, db)) if geo.interior(ch) => (db.k0 + (ch - rc) * shift, db.nk, &db.d[..]),
                _ => {
                    own = geo.dec_basis(plan, &basis, ch);
                    (own.k0, own.nk, &own.d[..])
                }
            }
        }};
    }
    let chunk_out = l * plan.up / plan.down + 2;
    let cap = (n_out + 1).min((m_trunc + 3) * chunk_out + 2 * plan.max_len + 16);
    let mut pend = Pending::<W> {
        buf: AlignedBuf::take(cap * W),
        cap,
        flushed: 0,
    };

    let pre = plan.max_len + 2;
    let mut buf = AlignedBuf::take((pre + l) * W);
    let mut scratch = Vec::new();
    let (rows, bps) = block.src.prefetch_rows(block.l0, block.nl);
    let mut pf = Prefetcher::new(rows, bps, n);
    let sweeps = if PAIR { NS.div_ceil(2) } else { NS };
    let init = |x0: &[f64; W]| -> State<W, NS> {
        let mut st = [[[0.0; W]; 2]; NS];
        for (s, ss) in st.iter_mut().enumerate() {
            for li in 0..W {
                ss[0][li] = spec.zi[s][0] * x0[li];
                ss[1][li] = spec.zi[s][1] * x0[li];
            }
        }
        st
    };
    let zero: State<W, NS> = [[[0.0; W]; 2]; NS];
    block.fill_ext::<W>(pad, 0, 1, &mut buf[pre * W..], &mut scratch);
    let mut st = init(buf[pre * W..(pre + 1) * W].try_into().unwrap());
    let mut ylast = [0.0f64; W];
    let mut sigma: Vec<State<W, NS>> = Vec::with_capacity(nchunks);
    let mut s_end = zero;
    let mut dec = Decim {
        carry: Vec::new(),
        carry_q0: 0,
        k_next: 0,
    };
    let mut resolved = 0usize;

    for ci in 0..nchunks {
        let e0 = ci * l;
        let len = l.min(n_ext - e0);
        let rows = &mut buf[pre * W..(pre + len) * W];
        block.fill_ext::<W>(pad, e0, len, rows, &mut scratch);
        if ci + 1 < nchunks {
            pf.target((e0 + l) as isize - pad as isize, l, 2 * l * sweeps);
        }
        run_sections::<W, NS, FMA, false, PAIR>(rows, &mut st, &c, &mut pf);
        let last = ci + 1 == nchunks;
        let mut stb = if last {
            ylast.copy_from_slice(&rows[(len - 1) * W..len * W]);
            init(&ylast)
        } else {
            zero
        };
        run_sections::<W, NS, FMA, true, PAIR>(rows, &mut stb, &c, &mut pf);
        if last {
            s_end = stb;
        } else {
            sigma.push(stb);
        }
        // Decimate this chunk's signal samples.
        let (qs, qe) = geo.span(ci);
        if qs < qe {
            let a = qs + pad - e0;
            decimate::<W, FMA>(
                &mut dec,
                plan,
                &geo,
                &mut buf,
                pre + a,
                qs,
                qe,
                out_scale,
                &mut pend,
            );
        }
        // Chunk ci - M is now known to rounding: correct and write out.
        if !last && ci >= m_trunc {
            let r = ci - m_trunc;
            let s = horner::<W, NS, FMA>(&basis, &sigma[r + 1..=r + m_trunc]);
            correct::<W, NS, FMA, PAIR>(&mut pend, basis_of!(r), &s, n_out);
            resolved = r + 1;
            let (qs1, _) = geo.span(r + 1);
            let upto = first_k_reaching(plan, qs1).min(dec.k_next);
            pend.flush(upto, writer);
        }
    }
    block.check_end(&ylast, &st)?;
    // The last chunks, exactly from the true end state.
    let mut s = s_end;
    for r in (resolved..nchunks - 1).rev() {
        correct::<W, NS, FMA, PAIR>(&mut pend, basis_of!(r), &s, n_out);
        s = phi_mul::<W, NS, FMA>(&basis, &s);
        add_state(&mut s, &sigma[r]);
    }
    debug_assert_eq!(dec.k_next, n_out);
    pend.flush(n_out, writer);
    buf.give();
    pend.buf.give();
    Ok(())
}

/// Decimate the rows `buf[at * W..]` holding samples `qs..qe` (the next ones
/// after the carried rows) into `pend`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn decimate<const W: usize, const FMA: bool>(
    dec: &mut Decim,
    plan: &PolyPlan,
    geo: &Geometry,
    buf: &mut [f64],
    at: usize,
    qs: usize,
    qe: usize,
    scale: f64,
    pend: &mut Pending<W>,
) {
    // The output scale is applied to each output (2.56x fewer products than
    // scaling the input rows at 256 Hz).
    #[inline(always)]
    fn scaled<const W: usize>(mut v: [f64; W], scale: f64) -> [f64; W] {
        for x in v.iter_mut() {
            *x *= scale;
        }
        v
    }
    // Window = carried rows (just before `at`) + this chunk.
    let carried = dec.carry.len() / W;
    debug_assert!(carried == 0 || dec.carry_q0 + carried == qs);
    debug_assert!(carried <= at);
    let w_start = at - carried;
    buf[w_start * W..at * W].copy_from_slice(&dec.carry);
    let w0 = qs - carried;
    let w_end = qe;
    let win = &buf[w_start * W..(at + qe - qs) * W];
    let n = geo.n;
    let at_end = qe == n;
    let mut k = dec.k_next;
    // Ring slot of output k, advanced without a division per output.
    let cap = pend.cap;
    let mut slot = k % cap;
    #[inline(always)]
    fn put<const W: usize>(buf: &mut [f64], cap: usize, slot: &mut usize, v: [f64; W]) {
        buf[*slot * W..*slot * W + W].copy_from_slice(&v);
        *slot += 1;
        if *slot == cap {
            *slot = 0;
        }
    }
    // Output k = kj * up + kr, stepped without a division per output.
    let (mut kj, mut kr) = (k / plan.up, k % plan.up);
    let next = |(j, r): (usize, usize)| {
        if r + 1 == plan.up {
            (j + 1, 0)
        } else {
            (j, r + 1)
        }
    };
    while k < geo.n_out {
        let (q_hi, taps) = plan.locate_jr(kj, kr);
        let len = taps.len();
        let q_lo = q_hi as isize - len as isize + 1;
        if q_hi >= w_end && !at_end {
            break;
        }
        let fast = q_lo >= w0 as isize && q_hi < w_end;
        if fast {
            #[cfg(target_arch = "x86_64")]
            if FMA && W.is_multiple_of(4) && W <= 24 && k + 1 < geo.n_out {
                let (kj2, kr2) = next((kj, kr));
                let (q_hi2, taps2) = plan.locate_jr(kj2, kr2);
                let q_lo2 = (q_hi2 + 1).saturating_sub(taps2.len());
                if q_hi2 < w_end && q_lo2 >= w0 && q_hi2 + 1 >= taps2.len() {
                    let lo = (q_lo as usize).min(q_lo2);
                    let hi = q_hi.max(q_hi2) + 1;
                    // Slots k and k + 1 (the second may wrap to 0).
                    let s1 = if slot + 1 == cap { 0 } else { slot + 1 };
                    let (pa, pb) = if s1 > slot {
                        let (x, y) = pend.buf.split_at_mut(s1 * W);
                        (&mut x[slot * W..], &mut y[..W])
                    } else {
                        let (x, y) = pend.buf.split_at_mut(slot * W);
                        (&mut y[..W], &mut x[..W])
                    };
                    dot_pair::<W>(
                        taps,
                        q_lo as usize - lo,
                        taps2,
                        q_lo2 - lo,
                        &win[(lo - w0) * W..(hi - w0) * W],
                        scale,
                        pa.try_into().unwrap(),
                        pb.try_into().unwrap(),
                    );
                    slot = if s1 + 1 == cap { 0 } else { s1 + 1 };
                    k += 2;
                    (kj, kr) = next((kj2, kr2));
                    continue;
                }
            }
            let a = (q_lo as usize - w0) * W;
            put(
                &mut pend.buf,
                cap,
                &mut slot,
                scaled(dot_rows::<W, FMA>(taps, &win[a..a + len * W]), scale),
            );
        } else {
            // Zero padding: only samples inside [0, n) contribute.
            let mut acc = [0.0f64; W];
            let a = q_lo.max(0) as usize;
            let b = q_hi.min(n - 1);
            for q in a..=b {
                let tap = taps[(q as isize - q_lo) as usize];
                let row = &win[(q - w0) * W..(q - w0) * W + W];
                for li in 0..W {
                    acc[li] = fmadd::<FMA>(tap, row[li], acc[li]);
                }
            }
            put(&mut pend.buf, cap, &mut slot, scaled(acc, scale));
        }
        k += 1;
        (kj, kr) = next((kj, kr));
    }
    dec.k_next = k;
    // Keep what later outputs need.
    let keep_from = if k < geo.n_out {
        // Any later output starts at most `max_len - 1` before this one's
        // newest input (q_lo is not monotone when up > down).
        let (q_hi, _) = plan.locate(k);
        (q_hi + 1).saturating_sub(plan.max_len).max(w0)
    } else {
        w_end
    };
    let keep_from = keep_from.min(w_end);
    dec.carry.clear();
    dec.carry
        .extend_from_slice(&win[(keep_from - w0) * W..(w_end - w0) * W]);
    dec.carry_q0 = keep_from;
}
