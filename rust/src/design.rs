//! Filter design, written to reproduce SciPy's numbers.
//!
//! * [`butter_bandpass_sos`] follows `scipy.signal.butter(..., output="sos")`:
//!   `buttap` → `lp2bp_zpk` → `bilinear_zpk` (with SciPy's pre-warping) →
//!   `zpk2sos(pairing="nearest")`, same pairing and section order.
//! * [`sosfilt_zi`] follows `scipy.signal.sosfilt_zi`.
//! * [`firwin_kaiser`] follows `scipy.signal.firwin(numtaps, cutoff,
//!   window=("kaiser", beta))` with `scale=True`.
//! * [`mne_ringing_samples`] follows `mne.filter.estimate_ringing_samples`.

use crate::DspError;
use std::f64::consts::PI;

/// One second-order section `[b0, b1, b2, a0, a1, a2]`.
pub type Section = [f64; 6];

/// A minimal complex number (only what the design needs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct C64 {
    re: f64,
    im: f64,
}

impl C64 {
    const fn new(re: f64, im: f64) -> Self {
        Self { re, im }
    }
    fn real(re: f64) -> Self {
        Self { re, im: 0.0 }
    }
    fn add(self, o: Self) -> Self {
        Self::new(self.re + o.re, self.im + o.im)
    }
    fn sub(self, o: Self) -> Self {
        Self::new(self.re - o.re, self.im - o.im)
    }
    fn mul(self, o: Self) -> Self {
        Self::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
    fn scale(self, s: f64) -> Self {
        Self::new(self.re * s, self.im * s)
    }
    fn conj(self) -> Self {
        Self::new(self.re, -self.im)
    }
    fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
    fn is_real(self) -> bool {
        self.im == 0.0
    }
    /// Smith's division (as NumPy does it).
    fn div(self, o: Self) -> Self {
        let (a, b, c, d) = (self.re, self.im, o.re, o.im);
        if c.abs() >= d.abs() {
            if c == 0.0 && d == 0.0 {
                return Self::new(a / c.abs(), b / c.abs());
            }
            let rat = d / c;
            let scl = 1.0 / (c + d * rat);
            Self::new((a + b * rat) * scl, (b - a * rat) * scl)
        } else {
            let rat = c / d;
            let scl = 1.0 / (d + c * rat);
            Self::new((a * rat + b) * scl, (b * rat - a) * scl)
        }
    }
    /// Principal square root (C99 `csqrt`).
    fn sqrt(self) -> Self {
        let (a, b) = (self.re, self.im);
        if a == 0.0 && b == 0.0 {
            return Self::new(0.0, b);
        }
        let t = ((a.abs() + self.abs()) * 0.5).sqrt();
        if a >= 0.0 {
            Self::new(t, b / (2.0 * t))
        } else {
            Self::new(b.abs() / (2.0 * t), t.copysign(b))
        }
    }
}

/// Highest Butterworth order accepted (the fused kernel runs up to 8 sections;
/// the design alone goes further, but such filters are numerically useless).
pub const MAX_ORDER: usize = 32;

/// Check a band-pass request; the messages are shown to Python users.
pub fn check_band(order: usize, l_freq: f64, h_freq: f64, sfreq: f64) -> Result<(), DspError> {
    if order == 0 || order > MAX_ORDER {
        return Err(DspError::invalid(format!(
            "order must be an integer from 1 to {MAX_ORDER}, got {order}"
        )));
    }
    if !(l_freq.is_finite() && h_freq.is_finite() && sfreq.is_finite()) {
        return Err(DspError::invalid(format!(
            "band edges and sfreq must be finite, got l_freq={l_freq}, h_freq={h_freq}, sfreq={sfreq}"
        )));
    }
    if sfreq <= 0.0 {
        return Err(DspError::invalid(format!(
            "sfreq must be positive, got {sfreq}"
        )));
    }
    if l_freq <= 0.0 {
        return Err(DspError::invalid(format!(
            "l_freq must be > 0 Hz, got {l_freq}"
        )));
    }
    if l_freq >= h_freq {
        return Err(DspError::invalid(format!(
            "invalid band: l_freq ({l_freq}) must be < h_freq ({h_freq})"
        )));
    }
    if h_freq >= sfreq / 2.0 {
        return Err(DspError::invalid(format!(
            "invalid band: h_freq ({h_freq} Hz) must be below the Nyquist frequency ({} Hz)",
            sfreq / 2.0
        )));
    }
    Ok(())
}

/// Butterworth band-pass as second-order sections, as SciPy designs it.
///
/// Equals `scipy.signal.butter(order, [l_freq, h_freq], btype="bandpass",
/// output="sos", fs=sfreq)` to within a few ulps.
pub fn butter_bandpass_sos(
    order: usize,
    l_freq: f64,
    h_freq: f64,
    sfreq: f64,
) -> Result<Vec<Section>, DspError> {
    check_band(order, l_freq, h_freq, sfreq)?;
    let n = order;
    // buttap: poles -exp(i*pi*m/(2N)), m = -N+1, -N+3, ..., N-1.
    let proto: Vec<C64> = (0..n)
        .map(|i| {
            let m = -(n as f64) + 1.0 + 2.0 * i as f64;
            let theta = PI * m / (2.0 * n as f64);
            if m == 0.0 {
                C64::real(-1.0)
            } else {
                C64::new(-theta.cos(), -theta.sin())
            }
        })
        .collect();
    // iirfilter: Wn = 2 * Wn / fs, then pre-warp with fs = 2.
    let wn = [2.0 * l_freq / sfreq, 2.0 * h_freq / sfreq];
    let fs = 2.0;
    let warped = [
        2.0 * fs * (PI * wn[0] / fs).tan(),
        2.0 * fs * (PI * wn[1] / fs).tan(),
    ];
    let bw = warped[1] - warped[0];
    let wo = (warped[0] * warped[1]).sqrt();
    // lp2bp_zpk (no prototype zeros; degree = N).
    let wo2 = C64::real(wo * wo);
    let p_lp: Vec<C64> = proto.iter().map(|p| p.scale(bw / 2.0)).collect();
    let mut p_bp = Vec::with_capacity(2 * n);
    for p in &p_lp {
        p_bp.push(p.add(p.mul(*p).sub(wo2).sqrt()));
    }
    for p in &p_lp {
        p_bp.push(p.sub(p.mul(*p).sub(wo2).sqrt()));
    }
    let z_bp = vec![C64::real(0.0); n];
    let k_bp = bw.powi(n as i32);
    // bilinear_zpk with fs = 2 (fs2 = 4).
    let fs2 = C64::real(2.0 * fs);
    let mut z_z: Vec<C64> = z_bp.iter().map(|z| fs2.add(*z).div(fs2.sub(*z))).collect();
    let p_z: Vec<C64> = p_bp.iter().map(|p| fs2.add(*p).div(fs2.sub(*p))).collect();
    z_z.extend(std::iter::repeat_n(
        C64::real(-1.0),
        p_bp.len() - z_bp.len(),
    ));
    let num = z_bp
        .iter()
        .fold(C64::real(1.0), |acc, z| acc.mul(fs2.sub(*z)));
    let den = p_bp
        .iter()
        .fold(C64::real(1.0), |acc, p| acc.mul(fs2.sub(*p)));
    let k_z = k_bp * num.div(den).re;
    zpk2sos_nearest(z_z, p_z, k_z)
}

/// `scipy.signal._filter_design._cplxreal` with the default tolerance.
fn cplxreal(z: &[C64]) -> Result<(Vec<C64>, Vec<f64>), DspError> {
    let tol = 100.0 * f64::EPSILON;
    let mut z = z.to_vec();
    // lexsort((abs(imag), real)): primary real, secondary |imag| (stable).
    z.sort_by(|a, b| {
        a.re.partial_cmp(&b.re)
            .unwrap()
            .then(a.im.abs().partial_cmp(&b.im.abs()).unwrap())
    });
    let mut zr = Vec::new();
    let mut zp = Vec::new();
    let mut zn = Vec::new();
    for v in &z {
        if v.im.abs() <= tol * v.abs() {
            zr.push(v.re);
        } else if v.im > 0.0 {
            zp.push(*v);
        } else {
            zn.push(*v);
        }
    }
    if zp.len() != zn.len() {
        return Err(DspError::invalid(
            "array contains complex value with no matching conjugate",
        ));
    }
    // Runs of (approximately) equal real part are sorted by |imag|.
    let mut start = 0;
    while start < zp.len() {
        let mut stop = start + 1;
        while stop < zp.len() && zp[stop].re - zp[stop - 1].re <= tol * zp[stop - 1].abs() {
            stop += 1;
        }
        let key = |a: &C64, b: &C64| a.im.abs().partial_cmp(&b.im.abs()).unwrap();
        zp[start..stop].sort_by(key);
        zn[start..stop].sort_by(key);
        start = stop;
    }
    let mut zc = Vec::with_capacity(zp.len());
    for (a, b) in zp.iter().zip(&zn) {
        if a.sub(b.conj()).abs() > tol * b.abs() {
            return Err(DspError::invalid(
                "array contains complex value with no matching conjugate",
            ));
        }
        zc.push(a.add(b.conj()).scale(0.5));
    }
    Ok((zc, zr))
}

/// `np.poly` of up to two roots; the result is real for real or conjugate roots.
fn poly(roots: &[C64]) -> Vec<f64> {
    let mut a = vec![C64::real(1.0)];
    for r in roots {
        let mut next = vec![C64::real(0.0); a.len() + 1];
        for (i, ai) in a.iter().enumerate() {
            next[i] = next[i].add(*ai);
            next[i + 1] = next[i + 1].add(ai.mul(r.scale(-1.0)));
        }
        a = next;
    }
    a.iter().map(|c| c.re).collect()
}

fn single_section(z: &[C64], p: &[C64]) -> Section {
    let b = poly(z);
    let a = poly(p);
    let mut s = [0.0; 6];
    s[3 - b.len()..3].copy_from_slice(&b);
    s[6 - a.len()..6].copy_from_slice(&a);
    s
}

fn nearest_idx(fro: &[C64], to: C64, which: Which) -> usize {
    let mut order: Vec<usize> = (0..fro.len()).collect();
    order.sort_by(|&i, &j| {
        fro[i]
            .sub(to)
            .abs()
            .partial_cmp(&fro[j].sub(to).abs())
            .unwrap()
    });
    *order
        .iter()
        .find(|&&i| match which {
            Which::Any => true,
            Which::Real => fro[i].is_real(),
            Which::Complex => !fro[i].is_real(),
        })
        .expect("zpk2sos: no zero of the requested kind left")
}

#[derive(Clone, Copy)]
enum Which {
    Any,
    Real,
    Complex,
}

fn idx_worst(p: &[C64]) -> usize {
    let mut best = 0;
    let mut best_v = f64::INFINITY;
    for (i, v) in p.iter().enumerate() {
        let d = (1.0 - v.abs()).abs();
        if d < best_v {
            best_v = d;
            best = i;
        }
    }
    best
}

/// `scipy.signal.zpk2sos(z, p, k, pairing="nearest")` for a digital filter.
fn zpk2sos_nearest(z: Vec<C64>, p: Vec<C64>, k: f64) -> Result<Vec<Section>, DspError> {
    let (mut z, mut p) = (z, p);
    while p.len() < z.len() {
        p.push(C64::real(0.0));
    }
    while z.len() < p.len() {
        z.push(C64::real(0.0));
    }
    let n_sections = p.len().max(z.len()).div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(C64::real(0.0));
        z.push(C64::real(0.0));
    }
    let (zc, zr) = cplxreal(&z)?;
    let mut z: Vec<C64> = zc
        .into_iter()
        .chain(zr.into_iter().map(C64::real))
        .collect();
    let (pc, pr) = cplxreal(&p)?;
    let mut p: Vec<C64> = pc
        .into_iter()
        .chain(pr.into_iter().map(C64::real))
        .collect();
    let mut sos = vec![[0.0; 6]; n_sections];
    for si in (0..n_sections).rev() {
        let p1 = p.remove(idx_worst(&p));
        let n_real_p = p.iter().filter(|v| v.is_real()).count();
        let n_real_z = z.iter().filter(|v| v.is_real()).count();
        if p1.is_real() && n_real_p == 0 {
            let z1 = z.remove(nearest_idx(&z, p1, Which::Real));
            sos[si] = single_section(&[z1, C64::real(0.0)], &[p1, C64::real(0.0)]);
        } else if p.len() + 1 == z.len() && !p1.is_real() && n_real_p == 1 && n_real_z == 1 {
            let z1 = z.remove(nearest_idx(&z, p1, Which::Complex));
            sos[si] = single_section(&[z1, z1.conj()], &[p1, p1.conj()]);
        } else {
            let p2 = if p1.is_real() {
                let real_idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_real()).collect();
                let reals: Vec<C64> = real_idx.iter().map(|&i| p[i]).collect();
                p.remove(real_idx[idx_worst(&reals)])
            } else {
                p1.conj()
            };
            if z.is_empty() {
                sos[si] = single_section(&[], &[p1, p2]);
            } else {
                let z1 = z.remove(nearest_idx(&z, p1, Which::Any));
                if !z1.is_real() {
                    sos[si] = single_section(&[z1, z1.conj()], &[p1, p2]);
                } else if !z.is_empty() {
                    let z2 = z.remove(nearest_idx(&z, p1, Which::Real));
                    sos[si] = single_section(&[z1, z2], &[p1, p2]);
                } else {
                    sos[si] = single_section(&[z1], &[p1, p2]);
                }
            }
        }
    }
    for v in sos[0][..3].iter_mut() {
        *v *= k;
    }
    Ok(sos)
}

/// `scipy.signal.lfilter_zi` for one section: solve `(I - companion(a).T) zi =
/// b[1:] - a[1:] * b[0]` the way LAPACK's `dgesv` does for a 2x2 system (LU
/// with partial pivoting, pivot reciprocal), so that the rounding — which the
/// near-unit-circle poles amplify — matches SciPy's.
fn lfilter_zi2(s: &Section) -> [f64; 2] {
    let (b0, b1, b2) = (s[0] / s[3], s[1] / s[3], s[2] / s[3]);
    let (a1, a2) = (s[4] / s[3], s[5] / s[3]);
    let r = [b1 - a1 * b0, b2 - a2 * b0];
    // m = [[1 + a1, -1], [a2, 1]]
    let (mut m00, mut m01, mut m10, mut m11) = (1.0 + a1, -1.0, a2, 1.0);
    let (mut r0, mut r1) = (r[0], r[1]);
    if m10.abs() > m00.abs() {
        std::mem::swap(&mut m00, &mut m10);
        std::mem::swap(&mut m01, &mut m11);
        std::mem::swap(&mut r0, &mut r1);
    }
    let l = m10 * (1.0 / m00);
    let u11 = m11 - l * m01;
    let y1 = r1 - l * r0;
    let x1 = y1 / u11;
    let x0 = (r0 - m01 * x1) / m00;
    [x0, x1]
}

/// `scipy.signal.sosfilt_zi`: steady-state initial conditions for a unit step.
pub fn sosfilt_zi(sos: &[Section]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let z = lfilter_zi2(s);
            let out = [scale * z[0], scale * z[1]];
            scale *= (s[0] + s[1] + s[2]) / (s[3] + s[4] + s[5]);
            out
        })
        .collect()
}

/// Padding of `scipy.signal.sosfiltfilt`'s default `padtype="odd"`: `3 * ntaps`.
pub fn odd_padlen(sos: &[Section]) -> usize {
    let zb = sos.iter().filter(|s| s[2] == 0.0).count();
    let za = sos.iter().filter(|s| s[5] == 0.0).count();
    3 * (2 * sos.len() + 1 - zb.min(za))
}

/// Modified Bessel function of the first kind, order 0 (power series; |x| <= 50).
pub fn bessel_i0(x: f64) -> f64 {
    let q = 0.25 * x * x;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1.0;
    loop {
        term *= q / (k * k);
        sum += term;
        if term < sum * 1e-17 {
            return sum;
        }
        k += 1.0;
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let y = PI * x;
        y.sin() / y
    }
}

/// `scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))` (low-pass,
/// `cutoff` relative to Nyquist, scaled to unit gain at DC).
pub fn firwin_kaiser(numtaps: usize, cutoff: f64, beta: f64) -> Vec<f64> {
    let alpha = 0.5 * (numtaps as f64 - 1.0);
    let i0b = bessel_i0(beta);
    let mut h: Vec<f64> = (0..numtaps)
        .map(|i| {
            let m = i as f64 - alpha;
            let r = if alpha > 0.0 { m / alpha } else { 0.0 };
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
            cutoff * sinc(cutoff * m) * w
        })
        .collect();
    let s: f64 = h.iter().sum();
    for v in h.iter_mut() {
        *v /= s;
    }
    h
}

/// Plain (single-pass) DF-II-transposed filtering, SciPy's `sosfilt` arithmetic.
pub fn sosfilt(sos: &[Section], x: &mut [f64], zi: &mut [[f64; 2]]) {
    for v in x.iter_mut() {
        let mut cur = *v;
        for (s, z) in sos.iter().zip(zi.iter_mut()) {
            let y = s[0] * cur + z[0];
            z[0] = s[1] * cur - s[4] * y + z[1];
            z[1] = s[2] * cur - s[5] * y;
            cur = y;
        }
        *v = cur;
    }
}

/// MNE's `estimate_ringing_samples(sos)` (max_try = 100000): the padding MNE uses
/// for IIR filtering.
pub fn mne_ringing_samples(sos: &[Section]) -> usize {
    let n_per_chunk = 1000usize;
    let n_chunks_max = 100usize;
    let mut zi = vec![[0.0; 2]; sos.len()];
    let mut x = vec![0.0; n_per_chunk];
    let mut last_good = n_per_chunk as i64;
    let mut thresh = 0.0f64;
    for ii in 0..n_chunks_max {
        x.iter_mut().for_each(|v| *v = 0.0);
        if ii == 0 {
            x[0] = 1.0;
        }
        sosfilt(sos, &mut x, &mut zi);
        let h: Vec<f64> = x.iter().map(|v| v.abs()).collect();
        let hmax = h.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        thresh = thresh.max(0.001 * hmax);
        match h.iter().rposition(|&v| v > thresh) {
            Some(i) => last_good = i as i64,
            None => {
                let idx = (ii as i64 - 1) * n_per_chunk as i64 + last_good;
                return idx.max(0) as usize;
            }
        }
    }
    n_per_chunk * n_chunks_max
}

/// Normalise sections so that `a0 == 1` (SciPy requires it; exact when it holds).
pub fn normalize_sections(sos: &[Section]) -> Result<Vec<Section>, DspError> {
    if sos.is_empty() {
        return Err(DspError::invalid("sos has no sections"));
    }
    sos.iter()
        .map(|s| {
            if s.iter().any(|v| !v.is_finite()) {
                return Err(DspError::invalid("sos contains NaN or Inf"));
            }
            if s[3] == 0.0 {
                return Err(DspError::invalid("sos has a section with a0 == 0"));
            }
            if s[3] == 1.0 {
                Ok(*s)
            } else {
                let a0 = s[3];
                Ok([s[0] / a0, s[1] / a0, s[2] / a0, 1.0, s[4] / a0, s[5] / a0])
            }
        })
        .collect()
}
