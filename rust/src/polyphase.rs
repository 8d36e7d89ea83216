//! Polyphase resampling plan, as `scipy.signal.resample_poly` computes it.
//!
//! Output `k` of `resample_poly(x, up, down)` is output `J = k + n_pre_remove`
//! of `upfirdn(h_padded, x, up, down)`; with `t = J * down - n_pre_pad` it is
//! `sum_m bank[t % up][m] * x[t / up - m]`, where `bank[p][m] = h[p + m * up]`.
//! Only these kept outputs are ever computed.

use crate::design::firwin_kaiser;
use crate::DspError;

/// How the signal is extended beyond both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResamplePad {
    /// Zeros (SciPy's default `padtype="constant"`).
    Constant,
    /// Mirror without repeating the edge sample (`padtype="reflect"`, MNE's choice).
    Reflect,
}

/// A precomputed polyphase filter bank for one `up/down` pair.
#[derive(Clone, Debug)]
pub struct PolyPlan {
    /// Up factor (reduced by the gcd).
    pub up: usize,
    /// Down factor (reduced by the gcd).
    pub down: usize,
    /// Filter half length `10 * max(up, down)`.
    pub half_len: usize,
    n_pre_pad: usize,
    n_pre_remove: usize,
    /// Flat taps of all phases; phase `p` is `taps[offsets[p]..offsets[p + 1]]`.
    taps: Vec<f64>,
    /// The same phases, each reversed (oldest input first).
    taps_rev: Vec<f64>,
    offsets: Vec<usize>,
    /// Longest phase (input samples one output depends on).
    pub max_len: usize,
    /// Per output residue `r = k % up`: (newest input of output `r`, phase).
    /// Output `k = j * up + r` has newest input `j * down + res[r].0`.
    res: Vec<(usize, usize)>,
    /// Extension mode.
    pub pad: ResamplePad,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl PolyPlan {
    /// Design the plan (Kaiser window, beta = 5, as SciPy's default).
    pub fn new(up: usize, down: usize, pad: ResamplePad) -> Result<Self, DspError> {
        if up == 0 || down == 0 {
            return Err(DspError::invalid(format!(
                "up and down must be positive integers, got up={up}, down={down}"
            )));
        }
        let g = gcd(up, down);
        let (up, down) = (up / g, down / g);
        let max_rate = up.max(down);
        if max_rate > 100_000 {
            return Err(DspError::invalid(format!(
                "up/down = {up}/{down} needs a filter of {} taps; use a rational \
                 approximation with smaller factors",
                20 * max_rate + 1
            )));
        }
        let half_len = 10 * max_rate;
        let mut h = firwin_kaiser(2 * half_len + 1, 1.0 / max_rate as f64, 5.0);
        for v in h.iter_mut() {
            *v *= up as f64;
        }
        let n_pre_pad = down - half_len % down;
        let n_pre_remove = (half_len + n_pre_pad) / down;
        let mut taps = Vec::with_capacity(h.len());
        let mut offsets = vec![0];
        let mut max_len = 0;
        for p in 0..up {
            let mut i = p;
            let start = taps.len();
            while i < h.len() {
                taps.push(h[i]);
                i += up;
            }
            max_len = max_len.max(taps.len() - start);
            offsets.push(taps.len());
        }
        // t(k) = (k + n_pre_remove) * down - n_pre_pad is never negative
        // (n_pre_remove * down - n_pre_pad = half_len), and k -> k + up adds
        // up * down to t: one table over k % up locates every output.
        let res = (0..up)
            .map(|r| {
                let t = (r + n_pre_remove) * down - n_pre_pad;
                (t / up, t % up)
            })
            .collect();
        let mut taps_rev = taps.clone();
        for p in 0..up {
            taps_rev[offsets[p]..offsets[p + 1]].reverse();
        }
        Ok(Self {
            taps_rev,
            up,
            down,
            half_len,
            n_pre_pad,
            n_pre_remove,
            taps,
            offsets,
            max_len,
            res,
            pad,
        })
    }

    /// Number of output samples for `n` inputs: `ceil(n * up / down)`.
    pub fn n_out(&self, n: usize) -> usize {
        (n * self.up).div_ceil(self.down)
    }

    /// Newest input index and the phase's taps (newest first) of output `k`.
    #[inline(always)]
    pub fn phase(&self, k: usize) -> (isize, &[f64]) {
        let t = (k + self.n_pre_remove) * self.down - self.n_pre_pad;
        let p = t % self.up;
        (
            (t / self.up) as isize,
            &self.taps[self.offsets[p]..self.offsets[p + 1]],
        )
    }

    /// Newest input index of output `k` and its phase's taps, oldest input
    /// first (one division and a table lookup; [`PolyPlan::phase`] divides twice).
    #[inline(always)]
    pub fn locate(&self, k: usize) -> (usize, &[f64]) {
        self.locate_jr(k / self.up, k % self.up)
    }

    /// [`PolyPlan::locate`] of output `k = j * up + r` (`r < up`), for
    /// callers that step through the outputs without dividing.
    #[inline(always)]
    pub fn locate_jr(&self, j: usize, r: usize) -> (usize, &[f64]) {
        let (q, p) = self.res[r];
        (
            j * self.down + q,
            &self.taps_rev[self.offsets[p]..self.offsets[p + 1]],
        )
    }
}

/// Index of sample `q` of an `n`-sample signal under numpy's `reflect` extension.
#[inline]
pub fn reflect_index(q: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let mut r = q.rem_euclid(period);
    if r >= n as isize {
        r = period - r;
    }
    r as usize
}
