//! The fused kernel: montage on the fly → forward SOS pass → backward SOS pass
//! → (scale, clip) → a sink (the polyphase decimator of `decim.rs` or a plain
//! writer), with SIMD lanes = channels. `dispatch.rs` picks the kernel for a
//! block; `onepass.rs` is the one-sweep variant. This module depends on none
//! of them.
//!
//! The kernel runs a block of `W` channels side by side (up to three SIMD
//! registers' worth), the state held in registers. Sections run per sub-block
//! of [`SUB`] samples (L1-resident): one section at a time on AVX2 and scalar,
//! two sections per sweep on AVX-512 (32 registers hold both states; all four
//! per sample spills, measured 27 % slower). In a pair, the second section of
//! a Butterworth band-pass (`b = [1, +-2, 1]` after normalisation) forms
//! `b1 * x + z1` as `(x + x) + z1`: the same correctly rounded value, computed
//! on the FP add ports, which balances the FMA and add ports (measured 7 %
//! faster overall, bit-identical). The signal is walked in chunks
//! of [`CHUNK`] samples: the forward pass runs once over the whole (padded)
//! signal and only keeps its state at chunk starts; the backward pass then
//! visits the chunks from last to first, recomputes each chunk's forward output
//! from the saved state (bit-identical), filters it backwards and hands the
//! result, newest first, to a sink (the decimator or a plain writer). Working
//! memory is a few hundred kB per block, whatever the recording length.
//!
//! Every hot loop is a plain index loop inside the `target_feature` function:
//! an iterator adaptor with a closure may stay out of line, and then
//! `f64::mul_add` compiles to a libm call (this made the AVX2 path 14x slower
//! than the scalar one before it was found).

use crate::design::{sosfilt_zi, Section};
use crate::simd::Isa;
use crate::DspError;

/// Samples per chunk of the backward walk.
pub const CHUNK: usize = 2048;
/// Largest number of second-order sections the fused kernel handles.
pub const MAX_SECTIONS: usize = 8;

/// Where a block's input comes from: `n_lanes` signals of `n_times` samples.
pub trait LaneSource: Sync {
    /// Samples per lane.
    fn n_times(&self) -> usize;
    /// Number of lanes (output channels).
    fn n_lanes(&self) -> usize;
    /// Write samples `q0..q0 + len` of `lane` to `out[i * stride + off]`.
    fn fill(&self, lane: usize, q0: usize, len: usize, out: &mut [f64], stride: usize, off: usize);
    /// Write samples `q0..q0 + len` of lanes `l0..l0 + nl` to
    /// `out[i * stride + j]` (lane `l0 + j`); `scratch` is reusable memory,
    /// `isa` the instruction sets the caller chose (and the CPU has).
    #[allow(clippy::too_many_arguments)]
    fn fill_block(
        &self,
        isa: Isa,
        l0: usize,
        nl: usize,
        q0: usize,
        len: usize,
        out: &mut [f64],
        stride: usize,
        scratch: &mut Vec<f64>,
    ) {
        let _ = (scratch, isa);
        for j in 0..nl {
            self.fill(l0 + j, q0, len, out, stride, j);
        }
    }
    /// Start addresses of the input rows lanes `l0..l0 + nl` read and the
    /// bytes per sample, for software prefetching (empty: no prefetch).
    fn prefetch_rows(&self, l0: usize, nl: usize) -> (Vec<usize>, usize) {
        let _ = (l0, nl);
        (Vec::new(), 0)
    }
    /// Sample `q` of `lane`.
    fn get(&self, lane: usize, q: usize) -> f64;
    /// First non-finite input of `lane`: (input channel, sample index).
    fn find_nonfinite(&self, lane: usize) -> Option<(usize, usize)>;
}

/// Receives `count` output samples (starting at sample `k0`) of a block, stored
/// lane-interleaved with stride `w`.
pub trait RowWriter {
    /// Store the samples.
    fn write(&mut self, k0: usize, count: usize, data: &[f64], w: usize);
}

/// Consumer of the backward pass: chunks arrive newest first and tile `[0, n)`.
pub trait Sink {
    /// `data` holds samples `q0..q0 + data.len() / W` lane-interleaved.
    fn consume(&mut self, q0: usize, data: &[f64]);
    /// Rows of scratch space the sink wants after the chunk in
    /// [`Sink::consume_in_place`].
    fn tail_rows(&self) -> usize {
        0
    }
    /// As [`Sink::consume`] with `buf[a..b]` as the data, rows after `b`
    /// (at least [`Sink::tail_rows`]) being free scratch space.
    fn consume_in_place(&mut self, q0: usize, buf: &mut [f64], a: usize, b: usize) {
        self.consume(q0, &buf[a..b]);
    }
}

/// Writes the filtered signal at the input rate.
pub struct DirectSink<'w, const W: usize> {
    /// Destination.
    pub writer: &'w mut dyn RowWriter,
}

impl<const W: usize> Sink for DirectSink<'_, W> {
    #[inline(always)]
    fn consume(&mut self, q0: usize, data: &[f64]) {
        self.writer.write(q0, data.len() / W, data, W);
    }
}

/// Filter parameters of the fused kernel.
///
/// The kernel runs SciPy's transposed direct form II with every section's
/// numerator divided by its `b0`; the product of the `b0`s (applied twice,
/// forward and backward) is folded into the output scale. That saves one
/// multiply per section and sample and leaves the new input a single add away
/// from each section's output (a short dependency chain through the cascade).
/// The transposed form II is kept because it is as accurate as SciPy on the
/// 0.1 Hz poles (direct form I loses ~50x more).
#[derive(Clone, Debug)]
pub struct FilterSpec {
    /// Sections with `a0 == 1` (as designed).
    pub sos: Vec<Section>,
    /// Kernel coefficients `[b1/b0, b2/b0, a1, a2]` per section.
    pub coef: Vec<[f64; 4]>,
    /// `sosfilt_zi` of the normalised sections.
    pub zi: Vec<[f64; 2]>,
    /// Product of the sections' `b0`.
    pub gain: f64,
    /// Odd-extension length at each end (must be `< n_times`).
    pub pad: usize,
    /// Multiply the filtered signal (before clipping).
    pub scale: Option<f64>,
    /// Clip to `+-clip` after scaling.
    pub clip: Option<f64>,
    /// Allow the one-sweep path (`onepass.rs`) where it applies
    /// (`false` forces the two-pass kernel; tests compare the two).
    pub onepass: bool,
}

impl FilterSpec {
    /// Prepare the kernel coefficients of `sos` (sections with `a0 == 1` and
    /// `b0 != 0`, see `engine::filter_spec`).
    pub fn new(sos: Vec<Section>, pad: usize, scale: Option<f64>, clip: Option<f64>) -> Self {
        // SciPy's initial conditions of the original sections; the state of
        // normalised section s is the original one divided by b0_0 * ... * b0_s.
        let zi0 = sosfilt_zi(&sos);
        let mut gain = 1.0;
        let mut coef = Vec::with_capacity(sos.len());
        let mut zi = Vec::with_capacity(sos.len());
        for (s, z) in sos.iter().zip(&zi0) {
            let b0 = s[0];
            gain *= b0;
            coef.push([s[1] / b0, s[2] / b0, s[4], s[5]]);
            zi.push([z[0] / gain, z[1] / gain]);
        }
        Self {
            sos,
            coef,
            zi,
            gain,
            pad,
            scale,
            clip,
            onepass: true,
        }
    }
}

#[inline(always)]
pub(crate) fn fmadd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Transposed-direct-form-II states `[z0, z1]` of every section.
pub(crate) type State<const W: usize, const NS: usize> = [[[f64; W]; 2]; NS];

/// Streams the next chunk's input rows into the cache while the current
/// chunk is being filtered: the kernel is compute-bound, reading a 60-minute
/// recording from DRAM is not free (~8 ms at 20 GB/s, twice), and a fill that
/// waits for DRAM costs as much as a filter pass. A few prefetches are issued
/// per sub-block of [`run_sections`], so they spread over the compute.
pub struct Prefetcher {
    rows: Vec<usize>,
    bps: usize,
    n: usize,
    lo: usize,
    hi: usize,
    row: usize,
    off: usize,
    per_step: usize,
    credit: usize,
}

impl Prefetcher {
    /// Prefetcher over `rows` (start addresses) of `n` samples of `bps` bytes.
    pub fn new(rows: Vec<usize>, bps: usize, n: usize) -> Self {
        let row = rows.len();
        Self {
            rows,
            bps,
            n,
            lo: 0,
            hi: 0,
            row,
            off: 0,
            per_step: 0,
            credit: 0,
        }
    }

    /// Fetch samples `q0..q0 + len` of every row over the next `steps` calls
    /// of [`Prefetcher::step`].
    pub(crate) fn target(&mut self, q0: isize, len: usize, steps: usize) {
        if self.rows.is_empty() || self.bps == 0 {
            return;
        }
        let a = q0.max(0) as usize;
        let b = ((q0 + len as isize).max(0) as usize).min(self.n);
        if a >= b {
            self.row = self.rows.len();
            return;
        }
        self.lo = a * self.bps;
        self.hi = b * self.bps;
        self.row = 0;
        self.off = self.lo;
        let lines = self.rows.len() * (self.hi - self.lo).div_ceil(64);
        // Lines per step in 1/65536 units, a little ahead of an even spread.
        self.per_step = ((lines as u64 * 65536 * 9 / 8) / steps.max(1) as u64 + 1) as usize;
        self.credit = 0;
    }

    #[inline(always)]
    fn step(&mut self) {
        self.steps(1);
    }

    /// `k` calls of [`Prefetcher::step`] at once (fewer integer operations
    /// beside the sweeps' FMAs, which share their ports).
    #[inline(always)]
    fn steps(&mut self, k: usize) {
        if self.row >= self.rows.len() {
            return;
        }
        self.credit += k * self.per_step;
        let mut k = self.credit >> 16;
        self.credit &= 0xffff;
        while k > 0 && self.row < self.rows.len() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the address lies inside a row of the source (checked
            // in `target`); prefetching never faults anyway.
            unsafe {
                use std::arch::x86_64::*;
                _mm_prefetch::<_MM_HINT_T2>((self.rows[self.row] + self.off) as *const i8);
            }
            self.off += 64;
            if self.off >= self.hi {
                self.row += 1;
                self.off = self.lo;
            }
            k -= 1;
        }
    }
}

/// Rows per sub-block of [`run_sections`]: small enough to stay in L1.
pub const SUB: usize = 64;

/// Filter `rows` (lane-interleaved samples, oldest first; newest first when
/// `REV`) through all sections. Within each L1-sized sub-block the sections
/// run one after another: one section's state (a few registers) is live at a
/// time, so nothing spills, and the three-vector recurrence keeps the FMA
/// units busy.
#[inline(always)]
pub(crate) fn run_sections<
    const W: usize,
    const NS: usize,
    const FMA: bool,
    const REV: bool,
    const PAIR: bool,
>(
    rows: &mut [f64],
    st: &mut State<W, NS>,
    c: &[[f64; 4]; NS],
    pf: &mut Prefetcher,
) {
    // One section step on lane values `xi` (transposed direct form II with
    // `b0 = 1`); `$b2one` drops the `b2 * x` multiply when `b2 == 1`, which
    // is exact (every Butterworth band-pass section: `[1, +-2, 1]`).
    macro_rules! step {
        ($xi:expr, $z0:expr, $z1:expr, $c:expr, $b2one:expr) => {{
            let [b1, b2, a1, a2] = $c;
            let xi = $xi;
            let y = xi + $z0;
            $z0 = fmadd::<FMA>(-a1, y, fmadd::<FMA>(b1, xi, $z1));
            $z1 = fmadd::<FMA>(-a2, y, if $b2one { xi } else { b2 * xi });
            y
        }};
    }
    let n = rows.len() / W;
    let mut done = 0;
    while done < n {
        let m = SUB.min(n - done);
        let (a, b) = if REV {
            (n - done - m, n - done)
        } else {
            (done, done + m)
        };
        let sub = &mut rows[a * W..b * W];
        let rows_n = sub.len() / W;
        // Plain index loops (no iterator adaptors with closures): they are
        // always inlined into the `target_feature` caller, so `mul_add`
        // becomes one FMA instruction, never a libm call.
        macro_rules! sweep1 {
            ($s:expr, $b2one:expr) => {{
                let cs = c[$s];
                let [mut z0, mut z1] = st[$s];
                for r in 0..rows_n {
                    let i = if REV { rows_n - 1 - r } else { r };
                    let x: &mut [f64; W] = (&mut sub[i * W..i * W + W]).try_into().unwrap();
                    pf.step();
                    for l in 0..W {
                        x[l] = step!(x[l], z0[l], z1[l], cs, $b2one);
                    }
                }
                st[$s] = [z0, z1];
            }};
        }
        // Two sections per sweep (AVX-512: 32 registers hold both states):
        // twice the independent recurrences in flight hides the add + FMA
        // latency of each one. Same operations in the same order per
        // section, so the result is bit-identical.
        // Second section in "add form" when its numerator is exactly
        // `[1, +-2, 1]`: `b1 * x + z1` as `(x + x) + z1` (or `z1 - (x + x)`)
        // is the same correctly rounded value (`x + x` is exact) but runs on
        // the FP add ports instead of the FMA ports, which the recursion's
        // other FMAs saturate.
        macro_rules! step_add {
            ($xi:expr, $z0:expr, $z1:expr, $c:expr, $neg:expr) => {{
                let [_, _, a1, a2] = $c;
                let xi = $xi;
                let y = xi + $z0;
                let xx = xi + xi;
                let t = if $neg { $z1 - xx } else { $z1 + xx };
                $z0 = fmadd::<FMA>(-a1, y, t);
                $z1 = fmadd::<FMA>(-a2, y, xi);
                y
            }};
        }
        // Two sections per sweep: `$second` is `step` or `step_add` (its
        // last argument: `b2 == 1`, or the sign of `b1 = +-2`).
        macro_rules! sweep2 {
            ($s:expr, $b2one:expr, $second:ident, $flag:expr) => {{
                let (ca, cb) = (c[$s], c[$s + 1]);
                let [mut z0a, mut z1a] = st[$s];
                let [mut z0b, mut z1b] = st[$s + 1];
                for r in 0..rows_n {
                    let i = if REV { rows_n - 1 - r } else { r };
                    let x: &mut [f64; W] = (&mut sub[i * W..i * W + W]).try_into().unwrap();
                    pf.step();
                    for l in 0..W {
                        let y = step!(x[l], z0a[l], z1a[l], ca, $b2one);
                        x[l] = $second!(y, z0b[l], z1b[l], cb, $flag);
                    }
                }
                st[$s] = [z0a, z1a];
                st[$s + 1] = [z0b, z1b];
            }};
        }
        let mut s = 0;
        while s < NS {
            if PAIR && s + 1 < NS {
                let b2one = c[s][1] == 1.0 && c[s + 1][1] == 1.0;
                if b2one && c[s + 1][0] == 2.0 {
                    #[cfg(target_arch = "x86_64")]
                    if W == 20 && FMA && PAIR {
                        // SAFETY: 20-lane blocks with FMA and pairs run only
                        // in the AVX-512 kernel; the states are [[f64; 20]; 2].
                        unsafe { pair20::<W, NS, REV, false>(sub, st, s, c, pf) };
                        s += 2;
                        continue;
                    }
                    sweep2!(s, true, step_add, false);
                } else if b2one && c[s + 1][0] == -2.0 {
                    #[cfg(target_arch = "x86_64")]
                    if W == 20 && FMA && PAIR {
                        // SAFETY: as above.
                        unsafe { pair20::<W, NS, REV, true>(sub, st, s, c, pf) };
                        s += 2;
                        continue;
                    }
                    sweep2!(s, true, step_add, true);
                } else if b2one {
                    sweep2!(s, true, step, true);
                } else {
                    sweep2!(s, false, step, false);
                }
                s += 2;
            } else {
                #[cfg(target_arch = "x86_64")]
                if FMA && W.is_multiple_of(4) && W <= 20 {
                    // SAFETY: FMA kernels run only where their `Isa` proved
                    // AVX2 and FMA; `W` is a multiple of 4 up to 20.
                    unsafe {
                        if c[s][1] == 1.0 {
                            sweep_avx2::<W, NS, REV, true>(sub, st, s, c, pf)
                        } else {
                            sweep_avx2::<W, NS, REV, false>(sub, st, s, c, pf)
                        }
                    };
                    s += 1;
                    continue;
                }
                if c[s][1] == 1.0 {
                    sweep1!(s, true);
                } else {
                    sweep1!(s, false);
                }
                s += 1;
            }
        }
        done += m;
    }
}

/// One section of [`run_sections`] over a sub-block with explicit 256-bit
/// registers, `W / 4` per row, the section's two states held in registers
/// for the whole sub-block. Written as inline assembly per register: the
/// compiler's own allocation (intrinsics or the generic code) of 20 lanes
/// kept the ten state registers and the three broadcast coefficients in the
/// 16 ymm registers by parking a state on the stack, which put a
/// store-to-load round trip into the recurrence; here each row is one
/// assembly block over the states, the coefficients and one free register,
/// so nothing spills. Same operations in the same order as
/// the generic code (bit-identical results).
///
/// # Safety
/// AVX2 and FMA must be available; `W` a multiple of 4, at most 20.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // `g` registers of a fixed-size array
unsafe fn sweep_avx2<const W: usize, const NS: usize, const REV: bool, const B2ONE: bool>(
    sub: &mut [f64],
    st: &mut State<W, NS>,
    s: usize,
    c: &[[f64; 4]; NS],
    pf: &mut Prefetcher,
) {
    use std::arch::asm;
    use std::arch::x86_64::*;
    assert!(W.is_multiple_of(4) && W <= 20 && s < NS);
    let g = W / 4;
    let n = sub.len() / W;
    let p = sub.as_mut_ptr();
    let z = st[s].as_mut_ptr() as *mut f64;
    let mut z0 = [_mm256_setzero_pd(); 5];
    let mut z1 = [_mm256_setzero_pd(); 5];
    for i in 0..g {
        z0[i] = _mm256_loadu_pd(z.add(4 * i));
        z1[i] = _mm256_loadu_pd(z.add(W + 4 * i));
    }
    let [b1, b2, a1, a2] = c[s];
    // Broadcast coefficients held in registers for the whole sub-block (ten
    // states, these four and one free register fit the 16 ymm): as memory
    // operands they were three extra loads per register and row, and the
    // sweep ran ~8 % slower.
    let kb1 = _mm256_set1_pd(b1);
    let ka1 = _mm256_set1_pd(-a1);
    let ka2 = _mm256_set1_pd(-a2);
    let kb2 = _mm256_set1_pd(b2);
    // One row of register `i` (`$mul`: the `b2 * x` product when b2 != 1).
    // The result lands with the roles of the registers rotated (z0' where
    // z1 was, z1' where x was); three rows bring them back, so the
    // three-row form below needs no register moves.
    macro_rules! row {
        ($q:expr, $z0:expr, $z1:expr) => {{
            let (y0, y1);
            if B2ONE {
                asm!(
                    "vmovupd {x}, ymmword ptr [{q}]",
                    "vaddpd {z0}, {x}, {z0}",
                    "vfmadd231pd {z1}, {x}, {kb1}",
                    "vfmadd231pd {z1}, {z0}, {ka1}",
                    "vfmadd231pd {x}, {z0}, {ka2}",
                    "vmovupd ymmword ptr [{q}], {z0}",
                    q = in(reg) $q,
                    kb1 = in(ymm_reg) kb1,
                    ka1 = in(ymm_reg) ka1,
                    ka2 = in(ymm_reg) ka2,
                    x = out(ymm_reg) y1,
                    z0 = inout(ymm_reg) $z0 => _,
                    z1 = inout(ymm_reg) $z1 => y0,
                    options(nostack, preserves_flags),
                );
            } else {
                asm!(
                    "vmovupd {x}, ymmword ptr [{q}]",
                    "vaddpd {z0}, {x}, {z0}",
                    "vfmadd231pd {z1}, {x}, {kb1}",
                    "vfmadd231pd {z1}, {z0}, {ka1}",
                    "vmulpd {x}, {x}, {kb2}",
                    "vfmadd231pd {x}, {z0}, {ka2}",
                    "vmovupd ymmword ptr [{q}], {z0}",
                    q = in(reg) $q,
                    kb1 = in(ymm_reg) kb1,
                    ka1 = in(ymm_reg) ka1,
                    ka2 = in(ymm_reg) ka2,
                    kb2 = in(ymm_reg) kb2,
                    x = out(ymm_reg) y1,
                    z0 = inout(ymm_reg) $z0 => _,
                    z1 = inout(ymm_reg) $z1 => y0,
                    options(nostack, preserves_flags),
                );
            }
            $z0 = y0;
            $z1 = y1;
        }};
    }
    // Three rows of register `i`; the registers end where they started.
    macro_rules! rows3 {
        ($q0:expr, $q1:expr, $q2:expr, $z0:expr, $z1:expr) => {{
            if B2ONE {
                asm!(
                    "vmovupd {f}, ymmword ptr [{q0}]",
                    "vaddpd {a}, {f}, {a}",
                    "vfmadd231pd {b}, {f}, {kb1}",
                    "vfmadd231pd {b}, {a}, {ka1}",
                    "vfmadd231pd {f}, {a}, {ka2}",
                    "vmovupd ymmword ptr [{q0}], {a}",
                    // (z0, z1, free) = (b, f, a)
                    "vmovupd {a}, ymmword ptr [{q1}]",
                    "vaddpd {b}, {a}, {b}",
                    "vfmadd231pd {f}, {a}, {kb1}",
                    "vfmadd231pd {f}, {b}, {ka1}",
                    "vfmadd231pd {a}, {b}, {ka2}",
                    "vmovupd ymmword ptr [{q1}], {b}",
                    // (z0, z1, free) = (f, a, b)
                    "vmovupd {b}, ymmword ptr [{q2}]",
                    "vaddpd {f}, {b}, {f}",
                    "vfmadd231pd {a}, {b}, {kb1}",
                    "vfmadd231pd {a}, {f}, {ka1}",
                    "vfmadd231pd {b}, {f}, {ka2}",
                    "vmovupd ymmword ptr [{q2}], {f}",
                    // (z0, z1, free) = (a, b, f)
                    q0 = in(reg) $q0,
                    q1 = in(reg) $q1,
                    q2 = in(reg) $q2,
                    kb1 = in(ymm_reg) kb1,
                    ka1 = in(ymm_reg) ka1,
                    ka2 = in(ymm_reg) ka2,
                    f = out(ymm_reg) _,
                    a = inout(ymm_reg) $z0,
                    b = inout(ymm_reg) $z1,
                    options(nostack, preserves_flags),
                );
            } else {
                asm!(
                    "vmovupd {f}, ymmword ptr [{q0}]",
                    "vaddpd {a}, {f}, {a}",
                    "vfmadd231pd {b}, {f}, {kb1}",
                    "vfmadd231pd {b}, {a}, {ka1}",
                    "vmulpd {f}, {f}, {kb2}",
                    "vfmadd231pd {f}, {a}, {ka2}",
                    "vmovupd ymmword ptr [{q0}], {a}",
                    "vmovupd {a}, ymmword ptr [{q1}]",
                    "vaddpd {b}, {a}, {b}",
                    "vfmadd231pd {f}, {a}, {kb1}",
                    "vfmadd231pd {f}, {b}, {ka1}",
                    "vmulpd {a}, {a}, {kb2}",
                    "vfmadd231pd {a}, {b}, {ka2}",
                    "vmovupd ymmword ptr [{q1}], {b}",
                    "vmovupd {b}, ymmword ptr [{q2}]",
                    "vaddpd {f}, {b}, {f}",
                    "vfmadd231pd {a}, {b}, {kb1}",
                    "vfmadd231pd {a}, {f}, {ka1}",
                    "vmulpd {b}, {b}, {kb2}",
                    "vfmadd231pd {b}, {f}, {ka2}",
                    "vmovupd ymmword ptr [{q2}], {f}",
                    q0 = in(reg) $q0,
                    q1 = in(reg) $q1,
                    q2 = in(reg) $q2,
                    kb1 = in(ymm_reg) kb1,
                    ka1 = in(ymm_reg) ka1,
                    ka2 = in(ymm_reg) ka2,
                    kb2 = in(ymm_reg) kb2,
                    f = out(ymm_reg) _,
                    a = inout(ymm_reg) $z0,
                    b = inout(ymm_reg) $z1,
                    options(nostack, preserves_flags),
                );
            }
        }};
    }
    let at = |r: usize| p.add(if REV { n - 1 - r } else { r } * W);
    let mut r = 0;
    while r + 3 <= n {
        let (q0, q1, q2) = (at(r), at(r + 1), at(r + 2));
        pf.steps(3);
        for i in 0..g {
            rows3!(q0.add(4 * i), q1.add(4 * i), q2.add(4 * i), z0[i], z1[i]);
        }
        r += 3;
    }
    while r < n {
        let q = at(r);
        pf.step();
        for i in 0..g {
            row!(q.add(4 * i), z0[i], z1[i]);
        }
        r += 1;
    }
    for i in 0..g {
        _mm256_storeu_pd(z.add(4 * i), z0[i]);
        _mm256_storeu_pd(z.add(W + 4 * i), z1[i]);
    }
}

/// The pair sweep of [`run_sections`] (first section with `b2 == 1`, second
/// in add form, `b1 = +-2`) for 20-lane blocks with explicit AVX-512
/// registers: two zmm and one ymm per row. The generic code compiles the
/// 20-lane arrays to five ymm registers per row, runs out of registers with
/// both sections' states (spills, ~10 moves per row) and took 39 cycles per
/// sample and pass; this takes ~28 (the same operations in the same order;
/// results differ from the generic code's in the last bits only).
///
/// # Safety
/// AVX-512F/VL and FMA must be available; `W == 20`; `s + 1 < NS`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,fma")]
unsafe fn pair20<const W: usize, const NS: usize, const REV: bool, const NEG: bool>(
    sub: &mut [f64],
    st: &mut State<W, NS>,
    s: usize,
    c: &[[f64; 4]; NS],
    pf: &mut Prefetcher,
) {
    use std::arch::x86_64::*;
    assert!(W == 20 && s + 1 < NS);
    let n = sub.len() / W;
    let p = sub.as_mut_ptr();
    let za = st[s].as_mut_ptr() as *mut f64;
    let zb = st[s + 1].as_mut_ptr() as *mut f64;
    // State row k of section a/b: lanes at z?.add(k * W).
    macro_rules! ld3 {
        ($q:expr) => {
            (
                _mm512_loadu_pd($q),
                _mm512_loadu_pd($q.add(8)),
                _mm256_loadu_pd($q.add(16)),
            )
        };
    }
    macro_rules! st3 {
        ($q:expr, $v:expr) => {{
            let (v0, v1, v2) = $v;
            _mm512_storeu_pd($q, v0);
            _mm512_storeu_pd($q.add(8), v1);
            _mm256_storeu_pd($q.add(16), v2);
        }};
    }
    let (mut a00, mut a01, mut a02) = ld3!(za);
    let (mut a10, mut a11, mut a12) = ld3!(za.add(W));
    let (mut b00, mut b01, mut b02) = ld3!(zb);
    let (mut b10, mut b11, mut b12) = ld3!(zb.add(W));
    let [b1a, _, a1a, a2a] = c[s];
    let [_, _, a1b, a2b] = c[s + 1];
    let (kb1a, kna1a, kna2a) = (
        _mm512_set1_pd(b1a),
        _mm512_set1_pd(-a1a),
        _mm512_set1_pd(-a2a),
    );
    let (kna1b, kna2b) = (_mm512_set1_pd(-a1b), _mm512_set1_pd(-a2b));
    let (yb1a, yna1a, yna2a, yna1b, yna2b) = (
        _mm512_castpd512_pd256(kb1a),
        _mm512_castpd512_pd256(kna1a),
        _mm512_castpd512_pd256(kna2a),
        _mm512_castpd512_pd256(kna1b),
        _mm512_castpd512_pd256(kna2b),
    );
    // One register of lanes through both sections (the kernel's `step!` then
    // `step_add!`).
    macro_rules! lanes {
        ($x:expr, $z0a:ident, $z1a:ident, $z0b:ident, $z1b:ident,
         $add:ident, $sub:ident, $fma:ident, $kb1a:expr, $kna1a:expr, $kna2a:expr,
         $kna1b:expr, $kna2b:expr) => {{
            let x = $x;
            let y = $add(x, $z0a);
            $z0a = $fma($kna1a, y, $fma($kb1a, x, $z1a));
            $z1a = $fma($kna2a, y, x);
            let y2 = $add(y, $z0b);
            let yy = $add(y, y);
            let t = if NEG { $sub($z1b, yy) } else { $add($z1b, yy) };
            $z0b = $fma($kna1b, y2, t);
            $z1b = $fma($kna2b, y2, y);
            y2
        }};
    }
    for r in 0..n {
        let i = if REV { n - 1 - r } else { r };
        let q = p.add(i * W);
        pf.step();
        let o0 = lanes!(
            _mm512_loadu_pd(q),
            a00,
            a10,
            b00,
            b10,
            _mm512_add_pd,
            _mm512_sub_pd,
            _mm512_fmadd_pd,
            kb1a,
            kna1a,
            kna2a,
            kna1b,
            kna2b
        );
        let o1 = lanes!(
            _mm512_loadu_pd(q.add(8)),
            a01,
            a11,
            b01,
            b11,
            _mm512_add_pd,
            _mm512_sub_pd,
            _mm512_fmadd_pd,
            kb1a,
            kna1a,
            kna2a,
            kna1b,
            kna2b
        );
        let o2 = lanes!(
            _mm256_loadu_pd(q.add(16)),
            a02,
            a12,
            b02,
            b12,
            _mm256_add_pd,
            _mm256_sub_pd,
            _mm256_fmadd_pd,
            yb1a,
            yna1a,
            yna2a,
            yna1b,
            yna2b
        );
        _mm512_storeu_pd(q, o0);
        _mm512_storeu_pd(q.add(8), o1);
        _mm256_storeu_pd(q.add(16), o2);
    }
    st3!(za, (a00, a01, a02));
    st3!(za.add(W), (a10, a11, a12));
    st3!(zb, (b00, b01, b02));
    st3!(zb.add(W), (b10, b11, b12));
}

pub(crate) struct Block<'s> {
    /// The instruction sets chosen for this run (proven present).
    pub(crate) isa: Isa,
    pub(crate) src: &'s dyn LaneSource,
    pub(crate) l0: usize,
    pub(crate) nl: usize,
}

impl Block<'_> {
    /// Fill `buf` with the odd-extended signal at extended indices `e0..e0+len`.
    pub(crate) fn fill_ext<const W: usize>(
        &self,
        pad: usize,
        e0: usize,
        len: usize,
        buf: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        let n = self.src.n_times();
        if self.nl < W {
            buf[..len * W].iter_mut().for_each(|v| *v = 0.0);
        }
        let mid_lo = e0.max(pad);
        let mid_hi = (e0 + len).min(pad + n);
        if mid_lo < mid_hi {
            let out = &mut buf[(mid_lo - e0) * W..];
            let (q0, m) = (mid_lo - pad, mid_hi - mid_lo);
            self.src
                .fill_block(self.isa, self.l0, self.nl, q0, m, out, W, scratch);
        }
        for j in 0..self.nl {
            let lane = self.l0 + j;
            if e0 < pad {
                let s0 = self.src.get(lane, 0);
                for e in e0..(e0 + len).min(pad) {
                    buf[(e - e0) * W + j] = 2.0 * s0 - self.src.get(lane, pad - e);
                }
            }
            if e0 + len > pad + n {
                let s1 = self.src.get(lane, n - 1);
                for e in e0.max(pad + n)..e0 + len {
                    let q = e - pad;
                    buf[(e - e0) * W + j] = 2.0 * s1 - self.src.get(lane, 2 * (n - 1) - q);
                }
            }
        }
    }

    /// NaN/Inf in the input reaches the forward pass's last output or end
    /// state (an IIR never forgets it): report its first place if so.
    pub(crate) fn check_end<const W: usize, const NS: usize>(
        &self,
        ylast: &[f64; W],
        st: &State<W, NS>,
    ) -> Result<(), DspError> {
        for j in 0..self.nl {
            if !ylast[j].is_finite()
                || st
                    .iter()
                    .any(|s| !(s[0][j].is_finite() && s[1][j].is_finite()))
            {
                return Err(self.nonfinite_error(j));
            }
        }
        Ok(())
    }

    fn nonfinite_error(&self, j: usize) -> DspError {
        match self.src.find_nonfinite(self.l0 + j) {
            Some((ch, t)) => DspError::NonFinite {
                channel: ch,
                sample: t,
            },
            None => DspError::invalid(
                "the filtered signal overflowed to Inf/NaN (input values too large)",
            ),
        }
    }
}

/// Zero-phase filtering of one block of lanes, fed to `sink` newest first.
#[inline(always)]
pub(crate) fn filtfilt_block<
    const W: usize,
    const NS: usize,
    const FMA: bool,
    const PAIR: bool,
    S: Sink,
>(
    block: &Block<'_>,
    spec: &FilterSpec,
    sink: &mut S,
) -> Result<(), DspError> {
    let n = block.src.n_times();
    let pad = spec.pad;
    let n_ext = n + 2 * pad;
    let c: [[f64; 4]; NS] = spec.coef[..NS].try_into().unwrap();
    let nchunks = n_ext.div_ceil(CHUNK);
    let mut buf = vec![0.0f64; (CHUNK + sink.tail_rows()) * W];
    let mut scratch = Vec::new();
    let mut snaps: Vec<State<W, NS>> = Vec::with_capacity(nchunks);
    let (rows, bps) = block.src.prefetch_rows(block.l0, block.nl);
    let mut pf = Prefetcher::new(rows, bps, n);
    // Row iterations of one `run_sections` call over a chunk.
    let sweeps = if PAIR { NS.div_ceil(2) } else { NS };
    let subs = CHUNK * sweeps;
    // `sosfilt_zi(sos) * x0`: the steady state of a step of height x0.
    let init = |x0: &[f64; W]| -> State<W, NS> {
        let mut st = [[[0.0; W]; 2]; NS];
        for (s, ss) in st.iter_mut().enumerate() {
            for l in 0..W {
                ss[0][l] = spec.zi[s][0] * x0[l];
                ss[1][l] = spec.zi[s][1] * x0[l];
            }
        }
        st
    };
    // Forward pass, keeping only the state at every chunk start: each chunk is
    // recomputed (bit-identically) in the backward pass. Measured faster than
    // storing the whole forward output, which is memory-bound.
    block.fill_ext::<W>(pad, 0, 1, &mut buf, &mut scratch);
    let mut st = init(buf[..W].try_into().unwrap());
    let mut ylast = [0.0f64; W];
    for ci in 0..nchunks {
        snaps.push(st);
        let e0 = ci * CHUNK;
        let len = CHUNK.min(n_ext - e0);
        block.fill_ext::<W>(pad, e0, len, &mut buf, &mut scratch);
        // Next chunk of this pass (the last one: the backward pass's first).
        let next = if ci + 1 < nchunks { e0 + CHUNK } else { e0 };
        pf.target(next as isize - pad as isize, CHUNK, subs);
        run_sections::<W, NS, FMA, false, PAIR>(&mut buf[..len * W], &mut st, &c, &mut pf);
        if ci + 1 == nchunks {
            ylast.copy_from_slice(&buf[(len - 1) * W..len * W]);
        }
    }
    block.check_end(&ylast, &st)?;
    // Backward pass, chunk by chunk from the end.
    let mut stb = init(&ylast);
    let scale = spec.scale.unwrap_or(1.0) * spec.gain * spec.gain;
    let clip = spec.clip;
    for ci in (0..nchunks).rev() {
        let e0 = ci * CHUNK;
        let len = CHUNK.min(n_ext - e0);
        let mut stf = snaps[ci];
        block.fill_ext::<W>(pad, e0, len, &mut buf, &mut scratch);
        if ci > 0 {
            pf.target((e0 - CHUNK) as isize - pad as isize, CHUNK, 2 * subs);
        }
        run_sections::<W, NS, FMA, false, PAIR>(&mut buf[..len * W], &mut stf, &c, &mut pf);
        run_sections::<W, NS, FMA, true, PAIR>(&mut buf[..len * W], &mut stb, &c, &mut pf);
        for row in buf[..len * W].chunks_exact_mut(W) {
            let x: &mut [f64; W] = row.try_into().unwrap();
            for v in x.iter_mut() {
                *v *= scale;
            }
            if let Some(cl) = clip {
                for v in x.iter_mut() {
                    *v = v.clamp(-cl, cl);
                }
            }
        }
        let q_lo = e0.max(pad) - pad;
        let q_hi = (e0 + len).min(pad + n).saturating_sub(pad);
        if q_lo < q_hi {
            let a = (q_lo + pad - e0) * W;
            let b = (q_hi + pad - e0) * W;
            sink.consume_in_place(q_lo, &mut buf, a, b);
        }
    }
    Ok(())
}
