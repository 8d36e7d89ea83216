//! High-level entry points on channel-major slices: zero-phase filtering,
//! resampling and the fused preprocessing pipeline for one recording (channel
//! blocks on `n_threads` threads); many recordings: `pipeline.rs`.

use crate::basis::MontageBasis;
use crate::design::{mne_ringing_samples, normalize_sections, odd_padlen, Section};
use crate::dispatch::{block_width, kernel_width, run_filter_block, run_resample_block, Stage};
use crate::kernel::{FilterSpec, LaneSource, RowWriter};
use crate::polyphase::PolyPlan;
use crate::simd::{active, Isa, SimdLevel};
use crate::DspError;
use rayon::prelude::*;

/// A float sample type of the I/O arrays (the maths is always f64).
pub trait Sample: crate::mem::Recyclable + Send + Sync {
    /// True for `f32` (selects the converting loads of the SIMD fill).
    const IS_F32: bool = false;
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
    const IS_F32: bool = true;
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
        isa: Isa,
        l0: usize,
        nl: usize,
        q0: usize,
        len: usize,
        out: &mut [f64],
        stride: usize,
        scratch: &mut Vec<f64>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if isa.has_avx2() && len >= 4 {
            // One pass: load 4 samples of each lane's row(s), form the
            // montage in registers and transpose 4 x 4 tiles straight into
            // `out` (no lane-major scratch, each input read once).
            let pairs: Vec<(&[T], Option<&[T]>)> = self.lanes[l0..l0 + nl]
                .iter()
                .map(|l| match *l {
                    Lane::Chan(c) => (&self.row(c)[q0..q0 + len], None),
                    Lane::Diff(a, b) => {
                        (&self.row(a)[q0..q0 + len], Some(&self.row(b)[q0..q0 + len]))
                    }
                })
                .collect();
            assert!(out.len() >= (len - 1) * stride + nl && nl <= stride);
            // SAFETY: `isa` proves AVX2; `pairs` rows hold `len` samples and
            // `out` holds `len` rows of `stride >= nl` values (checked above).
            unsafe { simd_io::fill_avx2(&pairs, len, out, stride) };
            return;
        }
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
        transpose(isa, scratch, nl, len, out, stride);
    }
    fn prefetch_rows(&self, l0: usize, nl: usize) -> (Vec<usize>, usize) {
        let mut rows: Vec<usize> = self.lanes[l0..l0 + nl]
            .iter()
            .flat_map(|l| match *l {
                Lane::Chan(c) => [c, c],
                Lane::Diff(a, b) => [a, b],
            })
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let addr = rows
            .into_iter()
            .map(|c| self.row(c).as_ptr() as usize)
            .collect();
        (addr, std::mem::size_of::<T>())
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

#[cfg(target_arch = "x86_64")]
mod simd_io {
    //! AVX2 gather/scatter between channel-major rows and the kernel's
    //! lane-interleaved blocks, as 4 x 4 register transposes.
    use super::Sample;
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load4<T: Sample>(p: *const T) -> __m256d {
        if T::IS_F32 {
            _mm256_cvtps_pd(_mm_loadu_ps(p as *const f32))
        } else {
            _mm256_loadu_pd(p as *const f64)
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store4<U: Sample>(p: *mut U, v: __m256d) {
        if U::IS_F32 {
            _mm_storeu_ps(p as *mut f32, _mm256_cvtpd_ps(v))
        } else {
            _mm256_storeu_pd(p as *mut f64, v)
        }
    }

    /// Transpose the 4 x 4 tile held in `r` (row = one vector).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn tr4(r: [__m256d; 4]) -> [__m256d; 4] {
        let t0 = _mm256_unpacklo_pd(r[0], r[1]);
        let t1 = _mm256_unpackhi_pd(r[0], r[1]);
        let t2 = _mm256_unpacklo_pd(r[2], r[3]);
        let t3 = _mm256_unpackhi_pd(r[2], r[3]);
        [
            _mm256_permute2f128_pd(t0, t2, 0x20),
            _mm256_permute2f128_pd(t1, t3, 0x20),
            _mm256_permute2f128_pd(t0, t2, 0x31),
            _mm256_permute2f128_pd(t1, t3, 0x31),
        ]
    }

    /// Samples `i..i + 4` of lanes `j0..j0 + 4` of the interleaved `d` (row
    /// stride `w`), transposed: one vector per lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn lanes4(d: *const f64, i: usize, w: usize, j0: usize) -> [__m256d; 4] {
        tr4([
            _mm256_loadu_pd(d.add(i * w + j0)),
            _mm256_loadu_pd(d.add((i + 1) * w + j0)),
            _mm256_loadu_pd(d.add((i + 2) * w + j0)),
            _mm256_loadu_pd(d.add((i + 3) * w + j0)),
        ])
    }

    /// `out[i * stride + j] = a_j[i] - b_j[i]` (or `a_j[i]`) for every lane
    /// `j` of `pairs` and `i < len`, every row holding `len` samples.
    ///
    /// # Safety
    /// AVX2 must be available; `out.len() >= (len - 1) * stride + pairs.len()`
    /// and `pairs.len() <= stride`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn fill_avx2<T: Sample>(
        pairs: &[(&[T], Option<&[T]>)],
        len: usize,
        out: &mut [f64],
        stride: usize,
    ) {
        let nl = pairs.len();
        let o = out.as_mut_ptr();
        let zero = _mm256_setzero_pd();
        // Whole 64-byte lines of each row per step: rows of a recording are
        // often a multiple of 4 kB apart, so the rows of a group share one
        // L1 set; reading a line in two halves at different times then
        // misses twice. (Interleaving all groups per step was 3x slower:
        // 21 rows in one set.)
        let step = if T::IS_F32 { 4 } else { 8 };
        let lenv = len - len % step;
        for i in lenv..len {
            for (j, (a, b)) in pairs.iter().enumerate() {
                let v = a[i].to_f64() - b.map_or(0.0, |b| b[i].to_f64());
                *o.add(i * stride + j) = v;
            }
        }
        // Samples in blocks of `BLOCK`, the lane groups inside: the block's
        // output rows (`BLOCK * stride` values, 10 kB at 20 lanes) take all
        // groups' columns while they are in L1, and a group's input rows
        // are read one block (eight lines each) at a time. Group after group
        // over the whole `len` fetched every output line from L2 once per
        // group (the chunk is larger than L1).
        const BLOCK: usize = 64;
        let mut b0 = 0;
        while b0 < lenv {
            let b1 = (b0 + BLOCK).min(lenv);
            let mut j0 = 0;
            while j0 < nl {
                let jn = 4.min(nl - j0);
                let grp = &pairs[j0..j0 + jn];
                let m = |k: usize| if jn > k { -1 } else { 0 };
                let mask = _mm256_setr_epi64x(-1, m(1), m(2), m(3));
                if grp.iter().all(|(_, b)| b.is_some()) {
                    // Every lane a difference (bipolar montages): the row
                    // pointers in registers, no per-lane branch. Missing
                    // lanes of a last group repeat lane 0 (masked out).
                    let ptr = |k: usize, second: bool| {
                        let (a, b) = grp[if k < jn { k } else { 0 }];
                        if second {
                            b.unwrap().as_ptr()
                        } else {
                            a.as_ptr()
                        }
                    };
                    let pa = [ptr(0, false), ptr(1, false), ptr(2, false), ptr(3, false)];
                    let pb = [ptr(0, true), ptr(1, true), ptr(2, true), ptr(3, true)];
                    diff_tiles(&pa, &pb, b0, b1, o.add(j0), stride, jn == 4, mask);
                    j0 += 4;
                    continue;
                }
                for i in (b0..b1).step_by(step) {
                    for h in (0..step).step_by(4) {
                        let mut r = [zero; 4];
                        for (rj, (a, b)) in r.iter_mut().zip(grp) {
                            let va = load4(a.as_ptr().add(i + h));
                            *rj = match b {
                                Some(b) => _mm256_sub_pd(va, load4(b.as_ptr().add(i + h))),
                                None => va,
                            };
                        }
                        let t = tr4(r);
                        for (k, v) in t.iter().enumerate() {
                            let p = o.add((i + h + k) * stride + j0);
                            if jn == 4 {
                                _mm256_storeu_pd(p, *v);
                            } else {
                                _mm256_maskstore_pd(p, mask, *v);
                            }
                        }
                    }
                }
                j0 += 4;
            }
            b0 = b1;
        }
    }

    /// `out[i * stride + k] = a_k[i] - b_k[i]` for `i0 <= i < i1` (a
    /// multiple of 4 samples) and the four lanes `k` (those `mask` keeps
    /// unless `full`), `a_k`/`b_k` the rows `pa`/`pb` point to.
    #[inline]
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn diff_tiles<T: Sample>(
        pa: &[*const T; 4],
        pb: &[*const T; 4],
        i0: usize,
        i1: usize,
        o: *mut f64,
        stride: usize,
        full: bool,
        mask: __m256i,
    ) {
        let [a0, a1, a2, a3] = *pa;
        let [b0, b1, b2, b3] = *pb;
        let put = |p: *mut f64, v: __m256d| {
            if full {
                _mm256_storeu_pd(p, v);
            } else {
                _mm256_maskstore_pd(p, mask, v);
            }
        };
        let mut i = i0;
        while i < i1 {
            let t = tr4([
                _mm256_sub_pd(load4(a0.add(i)), load4(b0.add(i))),
                _mm256_sub_pd(load4(a1.add(i)), load4(b1.add(i))),
                _mm256_sub_pd(load4(a2.add(i)), load4(b2.add(i))),
                _mm256_sub_pd(load4(a3.add(i)), load4(b3.add(i))),
            ]);
            for (k, v) in t.iter().enumerate() {
                put(o.add((i + k) * stride), *v);
            }
            i += 4;
        }
    }

    /// `rows[j][k0 + i] = data[i * w + j]` for `i < count`: the inverse of
    /// [`fill_avx2`] for the kernel's output.
    ///
    /// # Safety
    /// AVX2 must be available; every row holds `k0 + count` samples and
    /// `data.len() >= count * w`, `rows.len() <= w`. Returns whether it
    /// used streaming stores: they are weakly ordered, and the caller must
    /// fence (`_mm_sfence`) before the rows are read by another thread.
    #[target_feature(enable = "avx2")]
    pub unsafe fn write_avx2<U: Sample>(
        rows: &mut [&mut [U]],
        k0: usize,
        count: usize,
        data: &[f64],
        w: usize,
    ) -> bool {
        let nl = rows.len();
        let d = data.as_ptr();
        let ng = nl / 4;
        // Per full group of four lanes: next output and whether its rows
        // take streaming stores.
        let mut pos = [0usize; 8];
        let mut peels = [0usize; 8];
        let mut stream = [false; 8];
        let mut whole = [false; 8];
        assert!(ng <= pos.len());
        for g in 0..ng {
            let j0 = 4 * g;
            // float64 rows that share their alignment: streaming stores from
            // the first 64-byte (else 32-byte) boundary on. The output is
            // written once and not read again here; ordinary stores first
            // read every line from memory (the output is far larger than
            // the caches).
            let mis = |k: usize, a: usize| rows[j0 + k].as_ptr().add(k0) as usize % a;
            let same = |a: usize| mis(0, a) % 8 == 0 && (1..4).all(|k| mis(k, a) == mis(0, a));
            if !U::IS_F32 && count >= 16 {
                let line = if same(64) { 64 } else { 32 };
                if line == 64 || same(32) {
                    let peel = ((line - mis(0, line)) % line) / 8;
                    for i in 0..peel {
                        for k in 0..4 {
                            rows[j0 + k][k0 + i] = U::from_f64(data[i * w + j0 + k]);
                        }
                    }
                    pos[g] = peel;
                    peels[g] = peel;
                    stream[g] = true;
                    whole[g] = line == 64;
                }
            }
        }
        // Outputs in blocks of `BLOCK`, the groups inside: a block's rows of
        // `data` (`BLOCK * w` values, L1-sized) are read from L2 once for
        // all groups, and each output row gets whole lines per block.
        const BLOCK: usize = 64;
        let mut end = 0;
        while end < count {
            end += BLOCK;
            for g in 0..ng {
                let j0 = 4 * g;
                let lim = (end + peels[g]).min(count);
                let mut i = pos[g];
                if whole[g] {
                    // Eight outputs per step, each row's whole 64-byte line
                    // in two consecutive stores: a line's write-combining
                    // buffer fills at once. Half a line per row and tile,
                    // the other half one tile later, took ~4.0 instead of
                    // ~2.9 ms for the 16 kept TCP rows of a recording-hour
                    // (AVX2, the kernel's own write repeated, data in cache).
                    while i + 8 <= lim {
                        let lo = lanes4(d, i, w, j0);
                        let hi = lanes4(d, i + 4, w, j0);
                        for k in 0..4 {
                            let p = rows[j0 + k].as_mut_ptr().add(k0 + i) as *mut f64;
                            _mm256_stream_pd(p, lo[k]);
                            _mm256_stream_pd(p.add(4), hi[k]);
                        }
                        i += 8;
                    }
                }
                if stream[g] {
                    while i + 4 <= lim {
                        for (k, v) in lanes4(d, i, w, j0).iter().enumerate() {
                            _mm256_stream_pd(rows[j0 + k].as_mut_ptr().add(k0 + i) as *mut f64, *v);
                        }
                        i += 4;
                    }
                } else {
                    while i + 4 <= lim {
                        for (k, v) in lanes4(d, i, w, j0).iter().enumerate() {
                            store4(rows[j0 + k].as_mut_ptr().add(k0 + i), *v);
                        }
                        i += 4;
                    }
                }
                pos[g] = i;
            }
        }
        for (g, &p) in pos.iter().enumerate().take(ng) {
            for i in p..count {
                for k in 0..4 {
                    rows[4 * g + k][k0 + i] = U::from_f64(data[i * w + 4 * g + k]);
                }
            }
        }
        let streamed = stream.iter().any(|&s| s);
        let j0 = 4 * ng;
        for (j, row) in rows.iter_mut().enumerate().skip(j0) {
            for i in 0..count {
                row[k0 + i] = U::from_f64(data[i * w + j]);
            }
        }
        streamed
    }
}

/// `out[i * stride + j] = src[j * len + i]` for `j < nl`, `i < len`, in 8 x 8
/// tiles (AVX-512 when available: the tiles become register shuffles).
fn transpose(isa: Isa, src: &[f64], nl: usize, len: usize, out: &mut [f64], stride: usize) {
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
        if isa.has_avx512() {
            // SAFETY: `isa` proves the features the function enables.
            unsafe { body_avx512(src, nl, len, out, stride) };
            return;
        }
    }
    let _ = isa;
    body(src, nl, len, out, stride)
}

/// Writes block outputs into rows of a channel-major output `out[c * n_out + k]`.
struct RowsOut<'a, U: Sample> {
    isa: Isa,
    rows: Vec<&'a mut [U]>,
    /// Streaming stores were used: fence once when done (see `Drop`).
    streamed: bool,
}

impl<'a, U: Sample> RowsOut<'a, U> {
    fn new(isa: Isa, rows: Vec<&'a mut [U]>) -> Self {
        Self {
            isa,
            rows,
            streamed: false,
        }
    }
}

impl<U: Sample> Drop for RowsOut<'_, U> {
    fn drop(&mut self) {
        // Streaming stores are weakly ordered: make them visible before the
        // rows are handed on (to another thread, to Python). Once per
        // writer, not per write: a fence waits for the stores in flight to
        // reach memory (one per write of 16 outputs made a recording-hour
        // ~10 ms slower at AVX2).
        #[cfg(target_arch = "x86_64")]
        if self.streamed {
            // SAFETY: SSE is part of x86-64.
            unsafe { std::arch::x86_64::_mm_sfence() };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = self.streamed; // only the x86-64 writer streams
    }
}

impl<U: Sample> RowWriter for RowsOut<'_, U> {
    fn write(&mut self, k0: usize, count: usize, data: &[f64], w: usize) {
        #[cfg(not(target_arch = "x86_64"))]
        let _ = self.isa; // only the x86-64 build has a SIMD writer
        #[cfg(target_arch = "x86_64")]
        if self.isa.has_avx2() {
            assert!(data.len() >= count * w && self.rows.len() <= w);
            assert!(self.rows.iter().all(|r| r.len() >= k0 + count));
            // SAFETY: `isa` proves AVX2 and the sizes were checked above.
            self.streamed |= unsafe { simd_io::write_avx2(&mut self.rows, k0, count, data, w) };
            return;
        }
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
    check_stable(&sos, n)?;
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

/// Slowest decay the engine accepts: 1 - |pole| of at least this (a time
/// constant of 1e8 samples, 4.5 days at 256 Hz). Slower filters come from
/// absurd bands (a zero-width band, a cut-off of 1e-9 Hz) and return zeros
/// or overflow instead of a filtered signal.
const MIN_POLE_MARGIN: f64 = 1e-8;

/// Largest pole radius of a normalised section `1 + a1 z^-1 + a2 z^-2`.
fn pole_radius(a1: f64, a2: f64) -> f64 {
    let disc = a1 * a1 - 4.0 * a2;
    if disc < 0.0 {
        a2.sqrt()
    } else {
        let r = disc.sqrt();
        ((-a1 + r) / 2.0).abs().max(((-a1 - r) / 2.0).abs())
    }
}

/// Refuse unstable or practically unstable (never settling) filters.
fn check_stable(sos: &[Section], n: usize) -> Result<(), DspError> {
    for (i, s) in sos.iter().enumerate() {
        let r = pole_radius(s[4], s[5]);
        if r.is_nan() || r >= 1.0 {
            return Err(DspError::invalid(format!(
                "the filter is unstable (section {i} has a pole of radius {r:.12}); \
                 the band is too narrow or too close to 0 Hz or Nyquist for this \
                 sampling rate: widen it"
            )));
        }
        if 1.0 - r < MIN_POLE_MARGIN {
            return Err(DspError::invalid(format!(
                "the filter never settles: section {i}'s slowest mode decays over \
                 ~{:.1e} samples ({n} given); the band is too narrow or too close to \
                 0 Hz for this sampling rate: widen it",
                1.0 / (1.0 - r)
            )));
        }
    }
    Ok(())
}

/// `n_threads` capped at the cores this process may use (at least 1).
pub fn cap_threads(n_threads: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    n_threads.clamp(1, cores)
}

pub(crate) fn pool(n_threads: usize) -> Result<rayon::ThreadPool, DspError> {
    let n_threads = cap_threads(n_threads);
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

/// The one place an entry point's SIMD level is chosen: the caller's request
/// (clamped to the CPU: a level it lacks falls back to the widest one below)
/// or, for `None`, the process-wide [`active`] level. Everything below
/// receives the resulting [`Isa`] and detects nothing.
pub fn isa_for(level: Option<SimdLevel>) -> Isa {
    level.map_or_else(active, Isa::new)
}

/// Run the filter (and optional resampler) on every lane of `src` into `out`
/// (`n_lanes` rows of `n_out` samples), at `level` (`None`: the active level).
pub fn run<U: Sample>(
    src: &dyn LaneSource,
    spec: &FilterSpec,
    plan: Option<&PolyPlan>,
    out: &mut [U],
    n_threads: usize,
    level: Option<SimdLevel>,
) -> Result<(), DspError> {
    let isa = isa_for(level);
    let n_threads = cap_threads(n_threads);
    let (n_out, stage) = output_stage(plan, src.n_times(), src.n_lanes(), out.len());
    let bl = blocks(src.n_lanes(), block_width(isa), n_threads);
    let mut rows: Vec<&mut [U]> = out.chunks_mut(n_out).collect();
    let mut jobs = Vec::new();
    for &(l0, nl) in bl.iter().rev() {
        let tail = rows.split_off(l0);
        jobs.push((l0, nl, tail));
    }
    let work = |(l0, nl, r): (usize, usize, Vec<&mut [U]>)| {
        let mut w = RowsOut::new(isa, r);
        run_filter_block(isa, src, l0, nl, spec, &stage, &mut w)
    };
    if n_threads <= 1 || jobs.len() == 1 {
        jobs.into_iter().try_for_each(work)
    } else {
        pool(n_threads)?.install(|| jobs.into_par_iter().try_for_each(work))
    }
    .map_err(|e| earliest_nonfinite(src, e))?;
    check_narrowing(out)
}

/// Samples per output row and what follows the filter, for `n_lanes` rows
/// of `n_times` samples into an output of `out_len` values (checked).
fn output_stage(
    plan: Option<&PolyPlan>,
    n_times: usize,
    n_lanes: usize,
    out_len: usize,
) -> (usize, Stage<'_>) {
    let n_out = plan.map_or(n_times, |p| p.n_out(n_times));
    assert_eq!(out_len, n_lanes * n_out, "output buffer has the wrong size");
    let stage = match plan {
        Some(p) => Stage::Resample(p),
        None => Stage::Direct,
    };
    (n_out, stage)
}

/// Filter (and resample) the montage `src` into `out`, as [`run`] on it
/// would, through `basis` (of `src`'s lanes) when that saves kernel lanes:
/// the kernel filters the basis lanes in one block and the derived rows are
/// summed from them as each chunk is written (exact up to rounding, ~1e-11
/// of the RMS per term).
///
/// The basis is used where [`basis_pays`] (then on one thread whatever
/// `n_threads`: the result is the same for every thread count); otherwise
/// this is [`run`].
pub fn run_montage<T: Sample, U: Sample>(
    src: &MontageSource<'_, T>,
    basis: Option<&MontageBasis>,
    spec: &FilterSpec,
    plan: Option<&PolyPlan>,
    out: &mut [U],
    n_threads: usize,
    level: Option<SimdLevel>,
) -> Result<(), DspError> {
    let isa = isa_for(level);
    let n_lanes = src.lanes.len();
    let Some(basis) = basis.filter(|b| basis_pays(b, n_lanes, spec, level)) else {
        return run(src, spec, plan, out, n_threads, level);
    };
    // The basis lanes are montage lanes: their rows were checked with them.
    let src = MontageSource {
        lanes: basis.lanes.clone(),
        ..*src
    };
    let (n_out, stage) = output_stage(plan, src.n_times, n_lanes, out.len());
    let mut slots: Vec<Option<&mut [U]>> = out.chunks_mut(n_out).map(Some).collect();
    let mut take = |r: usize| slots[r].take().expect("each output row once");
    let kept = basis.rows.iter().map(|&r| take(r)).collect();
    let derived = basis.derived.iter().map(|(r, _)| take(*r)).collect();
    let mut w = SumsOut {
        kept: RowsOut::new(isa, kept),
        derived: RowsOut::new(isa, derived),
        matrix: SumMatrix::new(&basis.derived),
        sums: Vec::new(),
        finite: true,
    };
    run_filter_block(isa, &src, 0, basis.lanes.len(), spec, &stage, &mut w)
        .map_err(|e| earliest_nonfinite(&src, e))?;
    let finite = w.finite;
    drop(w); // fences the streaming stores before the output is read
    if !finite {
        return Err(DspError::invalid(
            "the filtered signal overflowed to Inf/NaN (input values too large)",
        ));
    }
    check_narrowing(out)
}

/// The derived rows of a basis as a matrix on the kept lanes, in groups of
/// four rows: `groups[g]` lists `(kept lane, [coefficient of rows 4g..4g+4])`
/// for every lane some row of the group uses (coefficients +-1 or 0).
struct SumMatrix {
    groups: Vec<Vec<(usize, [f64; 4])>>,
}

impl SumMatrix {
    fn new(derived: &[(usize, Vec<(usize, f64)>)]) -> Self {
        let groups = derived
            .chunks(4)
            .map(|rows| {
                let mut cols: Vec<(usize, [f64; 4])> = Vec::new();
                for (j, (_, terms)) in rows.iter().enumerate() {
                    for &(k, s) in terms {
                        match cols.iter_mut().find(|c| c.0 == k) {
                            Some(c) => c.1[j] += s,
                            None => {
                                let mut c = [0.0; 4];
                                c[j] = s;
                                cols.push((k, c));
                            }
                        }
                    }
                }
                cols.sort_by_key(|c| c.0);
                cols
            })
            .collect();
        Self { groups }
    }

    /// Lanes of the sums: four per group.
    fn width(&self) -> usize {
        4 * self.groups.len()
    }

    /// `sums[i * width + r]` = derived row `r` of sample `i` from the kept
    /// lanes `data[i * w + k]`; false if a sum is not finite. (Portable: the
    /// reference the AVX2 version is tested against, and the path of a
    /// kernel without AVX2 a basis would pay for; today only the AVX2 and
    /// AVX-512 kernels take a basis.) The products are
    /// exact (+-1 or 0 times a finite value); the even and odd columns go to
    /// two accumulators (half the dependency chain), added at the end; the
    /// AVX2 version below does the same operations in the same order.
    fn apply(&self, data: &[f64], w: usize, count: usize, sums: &mut [f64]) -> bool {
        let nw = self.width();
        let mut check = 0.0f64;
        for (e, x) in sums.chunks_exact_mut(nw).zip(data.chunks(w)).take(count) {
            for (g, cols) in self.groups.iter().enumerate() {
                let mut acc = [[0.0f64; 4]; 2];
                for (m, &(k, c)) in cols.iter().enumerate() {
                    let xv = x[k];
                    for j in 0..4 {
                        acc[m % 2][j] += xv * c[j];
                    }
                }
                for j in 0..4 {
                    let v = acc[0][j] + acc[1][j];
                    check += v * 0.0;
                    e[4 * g + j] = v;
                }
            }
        }
        check == 0.0
    }

    /// [`SumMatrix::apply`] in 256-bit registers (FMA gives the same bits:
    /// every product is exact).
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `data` holds `count` rows of `w >=`
    /// (largest kept lane + 1) values, `sums` at least `count * width()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn apply_avx2(&self, data: &[f64], w: usize, count: usize, sums: &mut [f64]) -> bool {
        let nw = self.width();
        assert!(sums.len() >= count * nw && data.len() >= count * w);
        let mut finite = true;
        for (g, cols) in self.groups.iter().enumerate() {
            assert!(cols.iter().all(|&(k, _)| k < w));
            // Fixed column counts unroll completely (the per-column loop's
            // bookkeeping cost as much as its FMAs); zero columns pad the
            // count up and add exact zeros.
            let out = sums.as_mut_ptr().add(4 * g);
            finite &= match cols.len() {
                0..=4 => sum_cols_avx2::<4>(cols, data.as_ptr(), w, count, out, nw),
                5..=8 => sum_cols_avx2::<8>(cols, data.as_ptr(), w, count, out, nw),
                9..=12 => sum_cols_avx2::<12>(cols, data.as_ptr(), w, count, out, nw),
                13..=16 => sum_cols_avx2::<16>(cols, data.as_ptr(), w, count, out, nw),
                _ => sum_cols_avx2::<0>(cols, data.as_ptr(), w, count, out, nw),
            };
        }
        finite
    }
}

/// One group of [`SumMatrix::apply_avx2`]: `out[i * nw..][..4]` from `cols`
/// for `count` rows of `x` (stride `w`), with `NC` columns unrolled (`cols`
/// padded with zero columns; more than `NC` columns, or `NC = 0`: looped).
///
/// # Safety
/// AVX2 and FMA; every column index `< w`; `x` holds `count` rows, `out`
/// `count` rows of stride `nw`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_cols_avx2<const NC: usize>(
    cols: &[(usize, [f64; 4])],
    x: *const f64,
    w: usize,
    count: usize,
    out: *mut f64,
    nw: usize,
) -> bool {
    use std::arch::x86_64::*;
    if NC == 0 || cols.len() > NC {
        let idx: Vec<usize> = cols.iter().map(|c| c.0).collect();
        let coef: Vec<__m256d> = cols.iter().map(|c| _mm256_loadu_pd(c.1.as_ptr())).collect();
        return sum_rows_avx2(&idx, &coef, x, w, count, out, nw);
    }
    let mut idx = [0usize; NC];
    let mut coef = [_mm256_setzero_pd(); NC];
    for (m, (k, c)) in cols.iter().enumerate() {
        idx[m] = *k;
        coef[m] = _mm256_loadu_pd(c.as_ptr());
    }
    // Inlined with arrays of a known length: the column loop unrolls (its
    // bookkeeping cost as much as its FMAs).
    sum_rows_avx2(&idx, &coef, x, w, count, out, nw)
}

/// The rows of [`sum_cols_avx2`]: per row the even and odd columns go to two
/// accumulators (half the dependency chain), added at the end, as in
/// [`SumMatrix::apply`]; false if a sum is not finite.
///
/// # Safety
/// As [`sum_cols_avx2`]; `idx` and `coef` of one length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn sum_rows_avx2(
    idx: &[usize],
    coef: &[std::arch::x86_64::__m256d],
    x: *const f64,
    w: usize,
    count: usize,
    out: *mut f64,
    nw: usize,
) -> bool {
    use std::arch::x86_64::*;
    let zero = _mm256_setzero_pd();
    let nc = idx.len().min(coef.len());
    let mut check = zero;
    for i in 0..count {
        let r = x.add(i * w);
        let (mut a0, mut a1) = (zero, zero);
        let mut m = 0;
        while m + 1 < nc {
            a0 = _mm256_fmadd_pd(_mm256_broadcast_sd(&*r.add(idx[m])), coef[m], a0);
            a1 = _mm256_fmadd_pd(_mm256_broadcast_sd(&*r.add(idx[m + 1])), coef[m + 1], a1);
            m += 2;
        }
        if m < nc {
            a0 = _mm256_fmadd_pd(_mm256_broadcast_sd(&*r.add(idx[m])), coef[m], a0);
        }
        let v = _mm256_add_pd(a0, a1);
        check = _mm256_fmadd_pd(v, zero, check);
        _mm256_storeu_pd(out.add(i * nw), v);
    }
    let mut c = [0.0f64; 4];
    _mm256_storeu_pd(c.as_mut_ptr(), check);
    c.iter().all(|&v| v == 0.0)
}

/// Most derived rows [`run_montage`] writes through a basis: one SIMD row
/// writer takes at most 32 rows (many repeated or redundant pairs, e.g. a
/// complete graph on 10 electrodes, filter every channel instead).
pub const MAX_DERIVED: usize = 32;

/// Whether [`run_montage`] filters `basis` instead of the `n_lanes` montage
/// lanes at `level`: no clipping (it comes before the resampler and is not
/// linear), the basis lanes fit one block (the sums need all of them at
/// once), at most [`MAX_DERIVED`] rows are derived, and the basis lanes need
/// fewer SIMD lanes than the montage (else the sums would only add work). At
/// AVX2 and AVX-512, TCP: yes; on the scalar kernel (blocks of four lanes): no.
/// The thread count plays no part, so that a result never depends on it: the
/// basis block runs on one thread.
pub fn basis_pays(
    basis: &MontageBasis,
    n_lanes: usize,
    spec: &FilterSpec,
    level: Option<SimdLevel>,
) -> bool {
    let isa = isa_for(level);
    let nb = basis.lanes.len();
    spec.clip.is_none()
        && basis.n_rows() == n_lanes
        && nb <= block_width(isa)
        && basis.derived.len() <= MAX_DERIVED
        && kernel_width(isa, nb) < kernel_width(isa, n_lanes)
}

/// Writes a basis block: its lanes into their rows, and the derived rows as
/// their sums, formed lane-interleaved in `sums` (one chunk at a time, in
/// cache) and written like the kept lanes (transposes, streaming stores).
struct SumsOut<'a, U: Sample> {
    kept: RowsOut<'a, U>,
    derived: RowsOut<'a, U>,
    matrix: SumMatrix,
    sums: Vec<f64>,
    /// False once a sum overflowed (its terms were finite: the kernel checks).
    finite: bool,
}

impl<U: Sample> RowWriter for SumsOut<'_, U> {
    fn write(&mut self, k0: usize, count: usize, data: &[f64], w: usize) {
        self.kept.write(k0, count, data, w);
        let nw = self.matrix.width();
        self.sums.resize(count * nw, 0.0);
        let sums = &mut self.sums[..count * nw];
        #[cfg(target_arch = "x86_64")]
        let finite = if self.kept.isa.has_avx2() {
            // SAFETY: `isa` proves AVX2 (and FMA, which every AVX2 level here has).
            unsafe { self.matrix.apply_avx2(data, w, count, sums) }
        } else {
            self.matrix.apply(data, w, count, sums)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let finite = self.matrix.apply(data, w, count, sums);
        self.finite &= finite;
        self.derived.write(k0, count, sums, nw);
    }
}

/// A NaN/Inf error as the earliest bad sample of any input row the lanes of
/// `src` read (the lowest row among equals), whichever block met one first:
/// the message then does not depend on the SIMD level (block widths), the
/// thread count or the montage basis. Other errors pass unchanged.
fn earliest_nonfinite(src: &dyn LaneSource, e: DspError) -> DspError {
    if !matches!(e, DspError::NonFinite { .. }) {
        return e;
    }
    first_nonfinite(src).unwrap_or(e)
}

/// The earliest NaN/Inf (lowest row among equals) in the rows `src` reads.
fn first_nonfinite(src: &dyn LaneSource) -> Option<DspError> {
    (0..src.n_lanes())
        .filter_map(|l| src.find_nonfinite(l))
        .min_by_key(|&(c, t)| (t, c))
        .map(|(channel, sample)| DspError::NonFinite { channel, sample })
}

/// A float32 output that overflowed when narrowed from the f64 maths (the
/// input and the f64 result were finite: the kernel checks those).
fn check_narrowing<U: Sample>(out: &[U]) -> Result<(), DspError> {
    if U::IS_F32 && !out.iter().all(|v| v.to_f64().is_finite()) {
        return Err(DspError::invalid(
            "the result exceeds float32's range (about 3.4e38) and would become \
             Inf: request float64 output or scale the input down",
        ));
    }
    Ok(())
}

/// Resample every lane of `src` into `out` (`n_lanes` rows of `plan.n_out(n)`).
pub fn run_resample<U: Sample>(
    src: &dyn LaneSource,
    plan: &PolyPlan,
    out: &mut [U],
    level: Option<SimdLevel>,
) -> Result<(), DspError> {
    let isa = isa_for(level);
    let n_out = plan.n_out(src.n_times());
    assert_eq!(
        out.len(),
        src.n_lanes() * n_out,
        "output buffer has the wrong size"
    );
    let bl = blocks(src.n_lanes(), block_width(isa), 1);
    let mut rows: Vec<&mut [U]> = out.chunks_mut(n_out).collect();
    for &(l0, nl) in bl.iter().rev() {
        let tail = rows.split_off(l0);
        let mut w = RowsOut::new(isa, tail);
        run_resample_block(isa, src, l0, nl, plan, &mut w);
    }
    // NaN/Inf in the input reaches the output: locate it only in that case.
    if out.iter().any(|v| !v.to_f64().is_finite()) {
        return Err(first_nonfinite(src).unwrap_or_else(|| {
            DspError::invalid("resampling overflowed to Inf/NaN (input values too large)")
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_derived() -> Vec<(usize, Vec<(usize, f64)>)> {
        crate::basis::MontageBasis::new(&crate::basis::tcp_lanes())
            .unwrap()
            .derived
    }

    /// The portable and AVX2 sums give the same bits (exact products, same
    /// order) and equal the path sums up to rounding: TCP (14 columns, the
    /// unrolled kernel) and 4 + 2 rows over 32 lanes (a looped group of 32
    /// columns, then an unrolled one of 8).
    #[test]
    fn sum_matrix_levels_agree_and_match_the_paths() {
        let wide: Vec<(usize, Vec<(usize, f64)>)> = (0..6)
            .map(|r| {
                let terms = (0..8).map(|t| ((r * 8 + t) % 32, if t % 3 == 0 { -1.0 } else { 1.0 }));
                (r, terms.collect())
            })
            .collect();
        check_sum_matrix(&tcp_derived(), 16, 4);
        check_sum_matrix(&wide, 32, 8);
    }

    /// The row writer at every level puts every value where the portable
    /// loop would, whatever the rows' alignment (shared or not, 8-byte
    /// offsets: streaming whole lines, half lines or ordinary stores) and
    /// however the outputs come in pieces (short ones, ones not a multiple
    /// of eight, peels at both ends), for 5 to 20 rows.
    #[test]
    fn row_writer_places_every_value_at_every_alignment() {
        for level in crate::simd::kernel_levels() {
            let isa = isa_for(Some(level));
            for n_rows in [5usize, 16, 20] {
                for shift in 0..8 {
                    // Row length 1003: rows differ in alignment; 1024: they share it.
                    for n_out in [1003usize, 1024] {
                        check_writer::<f64>(isa, n_rows, shift, n_out);
                        check_writer::<f32>(isa, n_rows, shift, n_out);
                    }
                }
            }
        }
    }

    fn check_writer<U: Sample + PartialEq + std::fmt::Debug>(
        isa: Isa,
        n_rows: usize,
        shift: usize,
        n_out: usize,
    ) {
        let w = n_rows + 3;
        let data = crate::testdata::lcg(w * n_out, 9);
        let mut buf = vec![U::from_f64(0.0); n_rows * n_out + 8];
        let out = &mut buf[shift..shift + n_rows * n_out];
        {
            let mut writer = RowsOut::new(isa, out.chunks_mut(n_out).collect());
            let mut k0 = 0;
            for piece in [3usize, 13, 16, 800, 7, 64, 1].iter().cycle() {
                if k0 == n_out {
                    break;
                }
                let count = (*piece).min(n_out - k0);
                writer.write(k0, count, &data[k0 * w..(k0 + count) * w], w);
                k0 += count;
            }
        }
        for (j, row) in out.chunks(n_out).enumerate() {
            for (k, v) in row.iter().enumerate() {
                assert_eq!(
                    *v,
                    U::from_f64(data[k * w + j]),
                    "{isa:?}, {n_rows} rows, shift {shift}, row {j}, output {k}"
                );
            }
        }
    }

    fn check_sum_matrix(derived: &[(usize, Vec<(usize, f64)>)], w: usize, width: usize) {
        let m = SumMatrix::new(derived);
        assert_eq!(m.width(), width);
        let count = 1000;
        let data = crate::testdata::lcg(w * count, 4);
        let mut a = vec![0.0; width * count];
        assert!(m.apply(&data, w, count, &mut a));
        for (i, e) in a.chunks(width).enumerate() {
            for (j, (_, terms)) in derived.iter().enumerate() {
                let want: f64 = terms.iter().map(|&(k, s)| s * data[i * w + k]).sum();
                assert!((e[j] - want).abs() <= 1e-15 * 8.0, "{} vs {want}", e[j]);
            }
        }
        #[cfg(target_arch = "x86_64")]
        if Isa::new(SimdLevel::Avx2).has_avx2() {
            let mut b = vec![0.0; width * count];
            // SAFETY: AVX2 checked above; sizes as documented.
            assert!(unsafe { m.apply_avx2(&data, w, count, &mut b) });
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }

    /// A sum of finite lanes that overflows is reported, not written as Inf.
    #[test]
    fn sum_matrix_reports_overflow() {
        let m = SumMatrix::new(&tcp_derived());
        let (w, count) = (16, 9);
        let mut data = vec![1.0; w * count];
        // Every term of derived row 0 at +1.7e308 in sample 5.
        let (_, terms) = &tcp_derived()[0];
        for &(k, s) in terms {
            data[5 * w + k] = s * 1.7e308;
        }
        let mut out = vec![0.0; 4 * count];
        assert!(!m.apply(&data, w, count, &mut out));
        #[cfg(target_arch = "x86_64")]
        if Isa::new(SimdLevel::Avx2).has_avx2() {
            // SAFETY: AVX2 checked above; sizes as documented.
            assert!(!unsafe { m.apply_avx2(&data, w, count, &mut out) });
        }
    }
}
