//! The polyphase decimator of the fused kernel: each kept output is a dot
//! product over the lane-interleaved rows of the filtered signal, two outputs
//! at a time sharing their row loads, located with one table lookup.

use crate::kernel::{fmadd, Block, RowWriter, Sink, CHUNK};
use crate::polyphase::{reflect_index, PolyPlan, ResamplePad};

/// Polyphase decimator fed newest-first.
pub struct DecimSink<'w, 'p, const W: usize, const FMA: bool> {
    plan: &'p PolyPlan,
    n: usize,
    /// Window of samples `w0..w0 + win.len() / W`.
    win: Vec<f64>,
    spare: Vec<f64>,
    w0: usize,
    /// Next output to compute (descending); -1 when done.
    k_next: isize,
    out: Vec<f64>,
    asc: Vec<f64>,
    writer: &'w mut dyn RowWriter,
}

impl<'w, 'p, const W: usize, const FMA: bool> DecimSink<'w, 'p, W, FMA> {
    /// A decimator for an `n`-sample signal.
    pub fn new(plan: &'p PolyPlan, n: usize, writer: &'w mut dyn RowWriter) -> Self {
        Self {
            plan,
            n,
            win: Vec::new(),
            spare: Vec::new(),
            w0: n,
            k_next: plan.n_out(n) as isize - 1,
            out: Vec::new(),
            asc: Vec::new(),
            writer,
        }
    }

    #[inline(always)]
    fn slow_output(&self, win: &[f64], k: usize, acc: &mut [f64; W]) {
        let (q_hi, taps) = self.plan.phase(k);
        for (m, &c) in taps.iter().enumerate() {
            let q = q_hi - m as isize;
            let qi = if q < 0 || q >= self.n as isize {
                match self.plan.pad {
                    ResamplePad::Constant => continue,
                    ResamplePad::Reflect => reflect_index(q, self.n),
                }
            } else {
                q as usize
            };
            let idx = qi
                .checked_sub(self.w0)
                .expect("decimator window does not cover a reflected sample");
            let row = &win[idx * W..idx * W + W];
            for l in 0..W {
                acc[l] += c * row[l];
            }
        }
    }

    /// Compute every output the window `win` (samples `q0..`, newest
    /// carried last) allows, newest first; return how many values of `win`
    /// (from its start) older outputs still need.
    #[inline(always)]
    fn decimate(&mut self, q0: usize, win: &[f64]) -> usize {
        self.w0 = q0;
        let wlen = win.len() / W;
        let kmax = self.plan.max_len;
        // Near the end we need enough samples for the reflected right edge.
        if q0 != 0 && wlen < 2 * kmax + 1 {
            return win.len();
        }
        self.out.clear();
        let mut k = self.k_next;
        let w_end = self.w0 + wlen;
        while k >= 0 {
            let ku = k as usize;
            let (q_hi, taps) = self.plan.locate(ku);
            let len = taps.len();
            let q_lo = q_hi as isize - len as isize + 1;
            if q0 != 0 && q_lo < q0 as isize {
                break;
            }
            let fast = q_lo >= self.w0 as isize && q_hi < w_end && q_hi < self.n;
            #[cfg(target_arch = "x86_64")]
            if FMA && W.is_multiple_of(4) && W <= 24 && fast && k >= 1 {
                // Two outputs at once share their row loads (the single dot
                // is bound by loads, not FMAs).
                let (q_hi2, taps2) = self.plan.locate(ku - 1);
                let q_lo2 = q_hi2 as isize - taps2.len() as isize + 1;
                if q_lo2 >= self.w0 as isize && (q0 == 0 || q_lo2 >= q0 as isize) {
                    let lo = (q_lo.min(q_lo2) as usize) - self.w0;
                    let hi = q_hi.max(q_hi2) + 1 - self.w0;
                    // SAFETY: FMA kernels run only where AVX2 + FMA exist;
                    // both outputs' rows lie in `win[lo * W..hi * W]`.
                    let (mut newer, mut older) = ([0.0f64; W], [0.0f64; W]);
                    unsafe {
                        dot_pair_avx::<W>(
                            taps,
                            q_lo as usize - self.w0 - lo,
                            taps2,
                            q_lo2 as usize - self.w0 - lo,
                            &win[lo * W..hi * W],
                            1.0,
                            newer.as_mut_ptr(),
                            older.as_mut_ptr(),
                        )
                    };
                    self.out.extend_from_slice(&newer);
                    self.out.extend_from_slice(&older);
                    k -= 2;
                    continue;
                }
            }
            let acc = if fast {
                let a = (q_lo as usize - self.w0) * W;
                dot_rows::<W, FMA>(taps, &win[a..a + len * W])
            } else {
                let mut acc = [0.0f64; W];
                self.slow_output(win, ku, &mut acc);
                acc
            };
            self.out.extend_from_slice(&acc);
            k -= 1;
        }
        let count = (self.k_next - k) as usize;
        if count > 0 {
            // Outputs were produced newest first: reverse to ascending order.
            // (A persistent buffer: a fresh one per chunk is large enough
            // to be mmap-ed, and its page faults cost ~10 % of the run.)
            let mut asc = std::mem::take(&mut self.asc);
            asc.clear();
            asc.resize(count * W, 0.0);
            for i in 0..count {
                asc[(count - 1 - i) * W..(count - i) * W]
                    .copy_from_slice(&self.out[i * W..(i + 1) * W]);
            }
            self.writer.write((k + 1) as usize, count, &asc, W);
            self.asc = asc;
        }
        self.k_next = k;
        // Keep only what older outputs can still need.
        (kmax + 1).min(wlen) * W
    }
}

/// `sum_j taps[j] * rows[j]` over lane-interleaved rows (`taps` oldest
/// first).
#[inline(always)]
pub(crate) fn dot_rows<const W: usize, const FMA: bool>(taps: &[f64], rows: &[f64]) -> [f64; W] {
    assert!(rows.len() == taps.len() * W);
    #[cfg(target_arch = "x86_64")]
    if FMA && W.is_multiple_of(4) && W <= 24 {
        // SAFETY: `FMA` kernels only run inside the AVX2/AVX-512 functions,
        // whose `Isa` proved AVX2 and FMA; sizes checked above.
        return unsafe { dot_rows_avx::<W>(taps, rows) };
    }
    dot_rows_generic::<W, FMA>(taps, rows)
}

/// [`dot_rows`] with explicit 256-bit vectors: `W / 4` registers per row and
/// two partial sums (2 x 4-cycle FMA latency covers the two FMA ports), so
/// nothing spills and every row value is loaded once, straight into an FMA.
/// (The auto-vectorised form split a 20-lane row into zmm + zmm + xmm + xmm
/// and spilled its accumulators: 3x slower.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // `g` registers of a fixed-size array
unsafe fn dot_rows_avx<const W: usize>(taps: &[f64], rows: &[f64]) -> [f64; W] {
    use std::arch::x86_64::*;
    let g = W / 4;
    let n = taps.len();
    let t = taps.as_ptr();
    let r = rows.as_ptr();
    let mut a = [_mm256_setzero_pd(); 6];
    let mut b = [_mm256_setzero_pd(); 6];
    let mut j = 0;
    while j + 2 <= n {
        let c0 = _mm256_broadcast_sd(&*t.add(j));
        let c1 = _mm256_broadcast_sd(&*t.add(j + 1));
        let r0 = r.add(j * W);
        let r1 = r.add((j + 1) * W);
        for i in 0..g {
            a[i] = _mm256_fmadd_pd(c0, _mm256_loadu_pd(r0.add(4 * i)), a[i]);
        }
        for i in 0..g {
            b[i] = _mm256_fmadd_pd(c1, _mm256_loadu_pd(r1.add(4 * i)), b[i]);
        }
        j += 2;
    }
    if j < n {
        let c0 = _mm256_broadcast_sd(&*t.add(j));
        let r0 = r.add(j * W);
        for i in 0..g {
            a[i] = _mm256_fmadd_pd(c0, _mm256_loadu_pd(r0.add(4 * i)), a[i]);
        }
    }
    let mut out = [0.0f64; W];
    for i in 0..g {
        _mm256_storeu_pd(out.as_mut_ptr().add(4 * i), _mm256_add_pd(a[i], b[i]));
    }
    out
}

/// Two dot products over one window of rows, each row loaded once:
/// output A uses rows `oa..oa + ta.len()`, output B rows `ob..ob + tb.len()`
/// (taps oldest first, rows relative to `rows`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // `g` registers of a fixed-size array
#[allow(clippy::too_many_arguments)]
unsafe fn dot_pair_avx<const W: usize>(
    ta: &[f64],
    oa: usize,
    tb: &[f64],
    ob: usize,
    rows: &[f64],
    scale: f64,
    outa: *mut f64,
    outb: *mut f64,
) {
    use std::arch::x86_64::*;
    let g = W / 4;
    let (ea, eb) = (oa + ta.len(), ob + tb.len());
    assert!(rows.len() >= ea.max(eb) * W);
    let r = rows.as_ptr();
    let mut a = [_mm256_setzero_pd(); 6];
    let mut b = [_mm256_setzero_pd(); 6];
    // Rows used by both outputs.
    let (both_lo, both_hi) = (oa.max(ob), ea.min(eb));
    // One output alone, rows `lo..hi`, taps from `t[lo - o..]`.
    macro_rules! single {
        ($acc:ident, $t:expr, $o:expr, $lo:expr, $hi:expr) => {{
            for q in $lo..$hi {
                let c = _mm256_broadcast_sd($t.get_unchecked(q - $o));
                let rq = r.add(q * W);
                for i in 0..g {
                    $acc[i] = _mm256_fmadd_pd(c, _mm256_loadu_pd(rq.add(4 * i)), $acc[i]);
                }
            }
        }};
    }
    if both_lo >= both_hi {
        single!(a, ta, oa, oa, ea);
        single!(b, tb, ob, ob, eb);
    } else {
        single!(a, ta, oa, oa, both_lo);
        single!(b, tb, ob, ob, both_lo);
        for q in both_lo..both_hi {
            let ca = _mm256_broadcast_sd(ta.get_unchecked(q - oa));
            let cb = _mm256_broadcast_sd(tb.get_unchecked(q - ob));
            let rq = r.add(q * W);
            for i in 0..g {
                let v = _mm256_loadu_pd(rq.add(4 * i));
                a[i] = _mm256_fmadd_pd(ca, v, a[i]);
                b[i] = _mm256_fmadd_pd(cb, v, b[i]);
            }
        }
        single!(a, ta, oa, both_hi, ea);
        single!(b, tb, ob, both_hi, eb);
    }
    // Scaled and stored straight into the caller's rows (returning the
    // pair by value went through the stack: ~2 ms per recording-hour).
    let k = _mm256_set1_pd(scale);
    for i in 0..g {
        _mm256_storeu_pd(outa.add(4 * i), _mm256_mul_pd(a[i], k));
        _mm256_storeu_pd(outb.add(4 * i), _mm256_mul_pd(b[i], k));
    }
}

/// Two outputs' dot products sharing their row loads (see [`dot_pair_avx`]),
/// times `scale`, into `outa` and `outb`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dot_pair<const W: usize>(
    ta: &[f64],
    oa: usize,
    tb: &[f64],
    ob: usize,
    rows: &[f64],
    scale: f64,
    outa: &mut [f64; W],
    outb: &mut [f64; W],
) {
    assert!(W.is_multiple_of(4) && W <= 24);
    // SAFETY: only called from the FMA kernels, which run only where
    // their `Isa` proved AVX2 and FMA; `dot_pair_avx` checks the row bounds
    // and the outputs are W values each.
    unsafe {
        dot_pair_avx::<W>(
            ta,
            oa,
            tb,
            ob,
            rows,
            scale,
            outa.as_mut_ptr(),
            outb.as_mut_ptr(),
        )
    }
}

/// Portable [`dot_rows`], four partial sums to hide the FMA latency.
#[inline(always)]
fn dot_rows_generic<const W: usize, const FMA: bool>(taps: &[f64], rows: &[f64]) -> [f64; W] {
    let n = taps.len();
    let mut a0 = [0.0f64; W];
    let mut a1 = [0.0f64; W];
    let mut a2 = [0.0f64; W];
    let mut a3 = [0.0f64; W];
    let mut j = 0;
    while j + 4 <= n {
        let r: &[f64; W] = rows[j * W..j * W + W].try_into().unwrap();
        let c = taps[j];
        for l in 0..W {
            a0[l] = fmadd::<FMA>(c, r[l], a0[l]);
        }
        let r: &[f64; W] = rows[(j + 1) * W..(j + 2) * W].try_into().unwrap();
        let c = taps[j + 1];
        for l in 0..W {
            a1[l] = fmadd::<FMA>(c, r[l], a1[l]);
        }
        let r: &[f64; W] = rows[(j + 2) * W..(j + 3) * W].try_into().unwrap();
        let c = taps[j + 2];
        for l in 0..W {
            a2[l] = fmadd::<FMA>(c, r[l], a2[l]);
        }
        let r: &[f64; W] = rows[(j + 3) * W..(j + 4) * W].try_into().unwrap();
        let c = taps[j + 3];
        for l in 0..W {
            a3[l] = fmadd::<FMA>(c, r[l], a3[l]);
        }
        j += 4;
    }
    while j < n {
        let r: &[f64; W] = rows[j * W..j * W + W].try_into().unwrap();
        let c = taps[j];
        for l in 0..W {
            a0[l] = fmadd::<FMA>(c, r[l], a0[l]);
        }
        j += 1;
    }
    for l in 0..W {
        a0[l] = (a0[l] + a1[l]) + (a2[l] + a3[l]);
    }
    a0
}

impl<const W: usize, const FMA: bool> Sink for DecimSink<'_, '_, W, FMA> {
    fn tail_rows(&self) -> usize {
        2 * self.plan.max_len + 2
    }
    #[inline(always)]
    fn consume_in_place(&mut self, q0: usize, buf: &mut [f64], a: usize, b: usize) {
        // The window is this chunk followed by the carried (newer) samples:
        // append the short carry after the chunk in place instead of copying
        // the whole chunk (a few hundred kB) next to the carry.
        let carry = self.win.len();
        if b + carry > buf.len() {
            self.consume(q0, &buf[a..b]);
            return;
        }
        buf[b..b + carry].copy_from_slice(&self.win);
        let mut win = std::mem::take(&mut self.win);
        win.clear();
        let keep = self.decimate(q0, &buf[a..b + carry]);
        win.extend_from_slice(&buf[a..a + keep]);
        self.win = win;
    }
    #[inline(always)]
    fn consume(&mut self, q0: usize, data: &[f64]) {
        // New window = this chunk followed by the carried (newer) samples.
        let mut spare = std::mem::take(&mut self.spare);
        spare.clear();
        spare.extend_from_slice(data);
        spare.extend_from_slice(&self.win);
        let keep = self.decimate(q0, &spare);
        spare.truncate(keep);
        self.spare = std::mem::replace(&mut self.win, spare);
    }
}

/// Polyphase resampling (no filter) of one block of lanes.
#[inline(always)]
pub(crate) fn resample_block<const W: usize, const FMA: bool>(
    block: &Block<'_>,
    plan: &PolyPlan,
    writer: &mut dyn RowWriter,
) {
    let n = block.src.n_times();
    let mut sink = DecimSink::<W, FMA>::new(plan, n, writer);
    let mut buf = vec![0.0f64; CHUNK * W];
    let mut scratch = Vec::new();
    let nchunks = n.div_ceil(CHUNK);
    for ci in (0..nchunks).rev() {
        let q0 = ci * CHUNK;
        let len = CHUNK.min(n - q0);
        buf[..len * W].iter_mut().for_each(|v| *v = 0.0);
        block.src.fill_block(
            block.isa,
            block.l0,
            block.nl,
            q0,
            len,
            &mut buf,
            W,
            &mut scratch,
        );
        sink.consume(q0, &buf[..len * W]);
    }
}
