//! High-level entry points on channel-major slices: zero-phase filtering,
//! resampling and the fused preprocessing pipeline, for one recording (channel
//! blocks on `n_threads` threads) or many (recordings on `n_threads` threads).

use crate::design::{mne_ringing_samples, normalize_sections, odd_padlen, Section};
use crate::kernel::{
    block_width, run_filter_block, run_resample_block, FilterSpec, LaneSource, RowWriter, Stage,
};
use crate::polyphase::PolyPlan;
use crate::simd::{detect, SimdLevel};
use crate::DspError;
use rayon::prelude::*;

/// A float sample type of the I/O arrays (the maths is always f64).
pub trait Sample: Copy + Send + Sync + 'static {
    /// Widen to f64.
    fn to_f64(self) -> f64;
    /// Narrow from f64 (rounding to nearest).
    fn from_f64(v: f64) -> Self;
    /// Widen a slice into `dst` (same length).
    fn widen_into(src: &[Self], dst: &mut [f64]) {
        for (d, v) in dst.iter_mut().zip(src) {
            *d = v.to_f64();
        }
    }
}

impl Sample for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Sample for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    fn widen_into(src: &[Self], dst: &mut [f64]) {
        // memcpy streams from DRAM better than a hand-written loop.
        dst.copy_from_slice(src);
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// How one output channel is formed from the input rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Row `c` as it is.
    Chan(usize),
    /// Row `a` minus row `b` (a bipolar derivation).
    Diff(usize, usize),
}

/// A channel-major recording `data[c * n_times + t]` seen through a montage.
pub struct MontageSource<'a, T: Sample> {
    data: &'a [T],
    n_times: usize,
    lanes: Vec<Lane>,
}

impl<'a, T: Sample> MontageSource<'a, T> {
    /// Check shapes and indices.
    pub fn new(
        data: &'a [T],
        n_channels: usize,
        n_times: usize,
        lanes: Vec<Lane>,
    ) -> Result<Self, DspError> {
        if n_channels == 0 || n_times == 0 {
            return Err(DspError::invalid(format!(
                "empty signal: {n_channels} channels x {n_times} samples"
            )));
        }
        if data.len() != n_channels * n_times {
            return Err(DspError::invalid(
                "data length does not match n_channels * n_times",
            ));
        }
        if lanes.is_empty() {
            return Err(DspError::invalid("no output channels requested"));
        }
        for l in &lanes {
            let (a, b) = match *l {
                Lane::Chan(c) => (c, c),
                Lane::Diff(a, b) => (a, b),
            };
            if a >= n_channels || b >= n_channels {
                return Err(DspError::invalid(format!(
                    "montage index out of range: ({a}, {b}) with {n_channels} channels"
                )));
            }
        }
        Ok(Self {
            data,
            n_times,
            lanes,
        })
    }

    /// Identity montage: every row is an output channel.
    pub fn identity(data: &'a [T], n_channels: usize, n_times: usize) -> Result<Self, DspError> {
        Self::new(
            data,
            n_channels,
            n_times,
            (0..n_channels).map(Lane::Chan).collect(),
        )
    }

    fn row(&self, c: usize) -> &[T] {
        &self.data[c * self.n_times..(c + 1) * self.n_times]
    }
}

impl<T: Sample> LaneSource for MontageSource<'_, T> {
    fn n_times(&self) -> usize {
        self.n_times
    }
    fn n_lanes(&self) -> usize {
        self.lanes.len()
    }
    fn fill(&self, lane: usize, q0: usize, len: usize, out: &mut [f64], stride: usize, off: usize) {
        match self.lanes[lane] {
            Lane::Chan(c) => {
                let r = &self.row(c)[q0..q0 + len];
                for (o, v) in out.chunks_mut(stride).zip(r) {
                    o[off] = v.to_f64();
                }
            }
            Lane::Diff(a, b) => {
                let ra = &self.row(a)[q0..q0 + len];
                let rb = &self.row(b)[q0..q0 + len];
                for (o, (va, vb)) in out.chunks_mut(stride).zip(ra.iter().zip(rb)) {
                    o[off] = va.to_f64() - vb.to_f64();
                }
            }
        }
    }
    #[allow(clippy::too_many_arguments)]
    fn fill_block(
        &self,
        l0: usize,
        nl: usize,
        q0: usize,
        len: usize,
        out: &mut [f64],
        stride: usize,
        scratch: &mut Vec<f64>,
    ) {
        // Form each lane contiguously (vectorised), lane-major in `scratch`,
        // then transpose 8 x 8 tiles into the lane-interleaved `out`.
        scratch.clear();
        scratch.resize(nl * len, 0.0);
        for (j, l) in self.lanes[l0..l0 + nl].iter().enumerate() {
            let d = &mut scratch[j * len..(j + 1) * len];
            match *l {
                Lane::Chan(c) => T::widen_into(&self.row(c)[q0..q0 + len], d),
                Lane::Diff(a, b) => {
                    let ra = &self.row(a)[q0..q0 + len];
                    let rb = &self.row(b)[q0..q0 + len];
                    for (o, (va, vb)) in d.iter_mut().zip(ra.iter().zip(rb)) {
                        *o = va.to_f64() - vb.to_f64();
                    }
                }
            }
        }
        transpose(scratch, nl, len, out, stride);
    }
    fn get(&self, lane: usize, q: usize) -> f64 {
        match self.lanes[lane] {
            Lane::Chan(c) => self.row(c)[q].to_f64(),
            Lane::Diff(a, b) => self.row(a)[q].to_f64() - self.row(b)[q].to_f64(),
        }
    }
    fn find_nonfinite(&self, lane: usize) -> Option<(usize, usize)> {
        let rows = match self.lanes[lane] {
            Lane::Chan(c) => vec![c],
            Lane::Diff(a, b) => vec![a, b],
        };
        rows.into_iter()
            .filter_map(|c| {
                self.row(c)
                    .iter()
                    .position(|v| !v.to_f64().is_finite())
                    .map(|t| (c, t))
            })
            .min_by_key(|&(c, t)| (t, c))
    }
}

/// `out[i * stride + j] = src[j * len + i]` for `j < nl`, `i < len`, in 8 x 8
/// tiles (AVX-512 when available: the tiles become register shuffles).
fn transpose(src: &[f64], nl: usize, len: usize, out: &mut [f64], stride: usize) {
    #[inline(always)]
    fn body(src: &[f64], nl: usize, len: usize, out: &mut [f64], stride: usize) {
        let mut j0 = 0;
        while j0 < nl {
            let jn = 8.min(nl - j0);
            let mut i0 = 0;
            while i0 + 8 <= len {
                if jn == 8 {
                    let mut t = [[0.0f64; 8]; 8];
                    for (j, tj) in t.iter_mut().enumerate() {
                        tj.copy_from_slice(&src[(j0 + j) * len + i0..(j0 + j) * len + i0 + 8]);
                    }
                    for i in 0..8 {
                        let o = &mut out[(i0 + i) * stride + j0..(i0 + i) * stride + j0 + 8];
                        for j in 0..8 {
                            o[j] = t[j][i];
                        }
                    }
                } else {
                    for i in i0..i0 + 8 {
                        for j in 0..jn {
                            out[i * stride + j0 + j] = src[(j0 + j) * len + i];
                        }
                    }
                }
                i0 += 8;
            }
            for i in i0..len {
                for j in 0..jn {
                    out[i * stride + j0 + j] = src[(j0 + j) * len + i];
                }
            }
            j0 += 8;
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl")]
        unsafe fn body_avx512(src: &[f64], nl: usize, len: usize, out: &mut [f64], stride: usize) {
            body(src, nl, len, out, stride)
        }
        if crate::simd::detect() == crate::simd::SimdLevel::Avx512 {
            // SAFETY: the CPU supports the features the function enables.
            unsafe { body_avx512(src, nl, len, out, stride) };
            return;
        }
    }
    body(src, nl, len, out, stride)
}

/// Writes block outputs into rows of a channel-major output `out[c * n_out + k]`.
struct RowsOut<'a, U: Sample> {
    rows: Vec<&'a mut [U]>,
}

impl<U: Sample> RowWriter for RowsOut<'_, U> {
    fn write(&mut self, k0: usize, count: usize, data: &[f64], w: usize) {
        for (j, row) in self.rows.iter_mut().enumerate() {
            let dst = &mut row[k0..k0 + count];
            for (i, d) in dst.iter_mut().enumerate() {
                *d = U::from_f64(data[i * w + j]);
            }
        }
    }
}

/// How the zero-phase filter extends the signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterPad {
    /// `scipy.signal.sosfiltfilt` default: odd extension of `3 * ntaps`.
    Odd,
    /// MNE's IIR filtering: odd (`reflect_limited`) extension of MNE's ringing
    /// estimate, capped at `n_times - 1`.
    Mne,
}

/// Build the kernel's filter description for an `n`-sample signal.
pub fn filter_spec(
    sos: &[Section],
    n: usize,
    pad: FilterPad,
    scale: Option<f64>,
    clip: Option<f64>,
) -> Result<FilterSpec, DspError> {
    let sos = normalize_sections(sos)?;
    let padlen = match pad {
        FilterPad::Odd => {
            let p = odd_padlen(&sos);
            if n <= p {
                return Err(DspError::TooShort {
                    n_times: n,
                    needed: p + 1,
                });
            }
            p
        }
        FilterPad::Mne => mne_ringing_samples(&sos).min(n.saturating_sub(1)),
    };
    if let Some(c) = clip {
        if c.is_nan() || c <= 0.0 {
            return Err(DspError::invalid(format!("clip must be positive, got {c}")));
        }
    }
    if let Some(s) = scale {
        if !s.is_finite() {
            return Err(DspError::invalid(format!("scale must be finite, got {s}")));
        }
    }
    if sos.iter().any(|s| s[0] == 0.0) {
        return Err(DspError::invalid(
            "sections with b0 == 0 are not supported by the engine",
        ));
    }
    Ok(FilterSpec::new(sos, padlen, scale, clip))
}

fn pool(n_threads: usize) -> Result<rayon::ThreadPool, DspError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n_threads.max(1))
        .build()
        .map_err(|e| DspError::invalid(format!("cannot start {n_threads} threads: {e}")))
}

/// Split `n_lanes` into blocks of at most `w` lanes, balanced over `n_threads`.
fn blocks(n_lanes: usize, w: usize, n_threads: usize) -> Vec<(usize, usize)> {
    let n_blocks = n_lanes.div_ceil(w).max(n_threads.min(n_lanes));
    let size = n_lanes.div_ceil(n_blocks);
    (0..n_lanes)
        .step_by(size)
        .map(|l0| (l0, size.min(n_lanes - l0)))
        .collect()
}

/// Run the filter (and optional resampler) on every lane of `src` into `out`
/// (`n_lanes` rows of `n_out` samples).
pub fn run<U: Sample>(
    src: &dyn LaneSource,
    spec: &FilterSpec,
    plan: Option<&PolyPlan>,
    out: &mut [U],
    n_threads: usize,
    level: Option<SimdLevel>,
) -> Result<(), DspError> {
    let level = level.unwrap_or_else(detect);
    let n = src.n_times();
    let n_out = plan.map_or(n, |p| p.n_out(n));
    assert_eq!(
        out.len(),
        src.n_lanes() * n_out,
        "output buffer has the wrong size"
    );
    let stage = match plan {
        Some(p) => Stage::Resample(p),
        None => Stage::Direct,
    };
    let bl = blocks(src.n_lanes(), block_width(level), n_threads);
    let mut rows: Vec<&mut [U]> = out.chunks_mut(n_out).collect();
    let mut jobs = Vec::new();
    for &(l0, nl) in bl.iter().rev() {
        let tail = rows.split_off(l0);
        jobs.push((l0, nl, tail));
    }
    let work = |(l0, nl, r): (usize, usize, Vec<&mut [U]>)| {
        let mut w = RowsOut { rows: r };
        run_filter_block(level, src, l0, nl, spec, &stage, &mut w)
    };
    if n_threads <= 1 || jobs.len() == 1 {
        jobs.into_iter().try_for_each(work)
    } else {
        pool(n_threads)?.install(|| jobs.into_par_iter().try_for_each(work))
    }
}

/// Resample every lane of `src` into `out` (`n_lanes` rows of `plan.n_out(n)`).
pub fn run_resample<U: Sample>(
    src: &dyn LaneSource,
    plan: &PolyPlan,
    out: &mut [U],
    level: Option<SimdLevel>,
) -> Result<(), DspError> {
    let level = level.unwrap_or_else(detect);
    let n_out = plan.n_out(src.n_times());
    assert_eq!(
        out.len(),
        src.n_lanes() * n_out,
        "output buffer has the wrong size"
    );
    let bl = blocks(src.n_lanes(), block_width(level), 1);
    let mut rows: Vec<&mut [U]> = out.chunks_mut(n_out).collect();
    for &(l0, nl) in bl.iter().rev() {
        let tail = rows.split_off(l0);
        let mut w = RowsOut { rows: tail };
        run_resample_block(level, src, l0, nl, plan, &mut w);
    }
    // NaN/Inf in the input reaches the output: locate it only in that case.
    if out.iter().any(|v| !v.to_f64().is_finite()) {
        for lane in 0..src.n_lanes() {
            if let Some((c, t)) = src.find_nonfinite(lane) {
                return Err(DspError::NonFinite {
                    channel: c,
                    sample: t,
                });
            }
        }
        return Err(DspError::invalid(
            "resampling overflowed to Inf/NaN (input values too large)",
        ));
    }
    Ok(())
}

/// One recording of a batch.
pub struct BatchItem<'a, T: Sample> {
    /// The recording through its montage.
    pub src: MontageSource<'a, T>,
    /// Its filter.
    pub spec: FilterSpec,
    /// Its resampler (None: keep the rate).
    pub plan: Option<PolyPlan>,
}

/// Process many recordings, `n_threads` at a time (each on one thread).
pub fn run_batch<T: Sample, U: Sample>(
    items: &[BatchItem<'_, T>],
    outs: &mut [Vec<U>],
    n_threads: usize,
) -> Vec<Result<(), DspError>> {
    let go = |(it, out): (&BatchItem<'_, T>, &mut Vec<U>)| {
        run(&it.src, &it.spec, it.plan.as_ref(), out, 1, None)
    };
    if n_threads <= 1 {
        items.iter().zip(outs.iter_mut()).map(go).collect()
    } else {
        match pool(n_threads) {
            Ok(p) => p.install(|| items.par_iter().zip(outs.par_iter_mut()).map(go).collect()),
            Err(e) => items.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}
