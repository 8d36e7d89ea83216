//! One recording's preprocessing as a plan built once (montage, band-pass,
//! resampler, scale, clip, threads), run on channel-major samples into a
//! freshly allocated output, and the batch driver that runs many recordings
//! on a thread pool. The Python binding only converts its arguments into a
//! [`Plan`] and the [`Output`] back into arrays.

use crate::basis::MontageBasis;
use crate::design::{self, Section};
use crate::engine::{self, FilterPad, Lane, MontageSource, Sample};
use crate::kernel::{LaneSource, MAX_SECTIONS};
use crate::polyphase::{PolyPlan, ResamplePad};
use crate::DspError;
use rayon::prelude::*;

/// What to do to one recording.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Output channels as montage lanes (`None`: every input row as it is).
    pub lanes: Option<Vec<Lane>>,
    /// Band-pass sections (`None`: resample only; `resampler` is then
    /// required).
    pub sos: Option<Vec<Section>>,
    /// How the zero-phase filter extends the signal.
    pub pad: FilterPad,
    /// Polyphase resampler (`None`: keep the rate).
    pub resampler: Option<PolyPlan>,
    /// Multiply the filtered signal (before clipping).
    pub scale: Option<f64>,
    /// Clip to `+-clip` after scaling.
    pub clip: Option<f64>,
    /// Threads for this recording's channel blocks (capped at the cores).
    /// A montage with dependent channels (TCP) runs through its independent
    /// part ([`MontageBasis`]) where that pays, then on one thread.
    pub n_threads: usize,
}

/// The recording-independent options of the fused chain (the Python
/// `dsp.Recipe`'s engine fields): a [`Plan`] is built from one of these and a
/// recording's rate, montage and resampling factors by [`Plan::build`].
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// Lower band edge in Hz.
    pub l_freq: f64,
    /// Upper band edge in Hz (below the recording's Nyquist frequency).
    pub h_freq: f64,
    /// Butterworth order (= band-pass sections, 1 to [`MAX_SECTIONS`]).
    pub order: usize,
    /// Multiply the filtered signal (before clipping).
    pub scale: Option<f64>,
    /// Clip to `+-clip` after scaling.
    pub clip: Option<f64>,
    /// How the zero-phase filter extends the signal.
    pub pad: FilterPad,
    /// How the resampler extends the signal.
    pub resample_pad: ResamplePad,
}

/// A channel-major result: `rows` channels of `cols` samples in `data`.
#[derive(Clone, Debug, PartialEq)]
pub struct Output<D> {
    /// The samples, `rows * cols` of them.
    pub data: D,
    /// Output channels.
    pub rows: usize,
    /// Samples per channel.
    pub cols: usize,
}

impl Plan {
    /// The plan of one recording: `recipe`'s band-pass designed at `sfreq`
    /// (the band is checked here, once per recording), the resampler by
    /// `up / down` (none when they reduce to 1/1), `lanes` as the montage.
    pub fn build(
        recipe: &Recipe,
        sfreq: f64,
        lanes: Option<Vec<Lane>>,
        up: usize,
        down: usize,
        n_threads: usize,
    ) -> Result<Plan, DspError> {
        if recipe.order == 0 || recipe.order > MAX_SECTIONS {
            return Err(DspError::invalid(format!(
                "the engine's band-pass order must be 1 to {MAX_SECTIONS}, got {}",
                recipe.order
            )));
        }
        if let Some(c) = recipe.clip {
            if c.is_nan() || c <= 0.0 {
                return Err(DspError::invalid(format!("clip must be positive, got {c}")));
            }
        }
        if let Some(s) = recipe.scale {
            if !s.is_finite() {
                return Err(DspError::invalid(format!("scale must be finite, got {s}")));
            }
        }
        let sos = design::butter_bandpass_sos(recipe.order, recipe.l_freq, recipe.h_freq, sfreq)?;
        if up == 0 || down == 0 {
            return Err(DspError::invalid(format!(
                "up and down must be positive integers, got up={up}, down={down}"
            )));
        }
        let resampler = if up == down {
            None
        } else {
            Some(PolyPlan::new(up, down, recipe.resample_pad)?)
        };
        Ok(Plan {
            lanes,
            sos: Some(sos),
            pad: recipe.pad,
            resampler,
            scale: recipe.scale,
            clip: recipe.clip,
            n_threads: n_threads.max(1),
        })
    }

    /// Run the plan on `data` (`n_channels` rows of `n_times` samples) into a
    /// new buffer ([`crate::mem::output`]: the last released output of a
    /// similar size, else lazily zeroed memory on huge pages).
    pub fn run<T: Sample, U: Sample>(
        &self,
        data: &[T],
        n_channels: usize,
        n_times: usize,
    ) -> Result<Output<Vec<U>>, DspError> {
        let (n_ch, n) = (n_channels, n_times);
        let src = match &self.lanes {
            Some(l) => MontageSource::new(data, n_ch, n, l.clone())?,
            None => MontageSource::identity(data, n_ch, n)?,
        };
        let n_lanes = src.n_lanes();
        let n_out =
            match &self.resampler {
                // n * up must not wrap around before the division.
                Some(p) => n.checked_mul(p.up).map(|_| p.n_out(n)).ok_or_else(|| {
                    DspError::OutOfMemory {
                        what: format!("the output of {n} samples resampled by {}/{}", p.up, p.down),
                        bytes: None,
                    }
                })?,
                None => n,
            };
        let total = n_lanes.checked_mul(n_out).ok_or(DspError::OutOfMemory {
            what: format!("the output ({n_lanes} channels x {n_out} samples)"),
            bytes: None,
        })?;
        // Every value is written by the engine, so a recycled buffer will do.
        let mut out = crate::mem::output::<U>(
            total,
            &format!(
                "the output ({n_lanes} channels x {n_out} samples of {})",
                if U::IS_F32 { "float32" } else { "float64" }
            ),
        )?;
        match (&self.sos, &self.resampler) {
            (Some(sos), resampler) => {
                let spec = engine::filter_spec(sos, n, self.pad, self.scale, self.clip)?;
                // Only the filter kernels take a basis: built where it is used.
                let basis = self.lanes.as_deref().and_then(MontageBasis::new);
                engine::run_montage(
                    &src,
                    basis.as_ref(),
                    &spec,
                    resampler.as_ref(),
                    &mut out,
                    self.n_threads,
                    None,
                )?;
            }
            (None, Some(p)) => engine::run_resample(&src, p, &mut out, None)?,
            (None, None) => {
                return Err(DspError::invalid(
                    "nothing to do: give a filter, a resampler or both",
                ))
            }
        }
        Ok(Output {
            data: out,
            rows: n_lanes,
            cols: n_out,
        })
    }
}

/// One recording's samples, float32 or float64, channel-major.
#[derive(Clone, Copy, Debug)]
pub enum Samples<'a> {
    /// float32 samples.
    F32(&'a [f32]),
    /// float64 samples.
    F64(&'a [f64]),
}

/// An output buffer of either precision.
#[derive(Clone, Debug, PartialEq)]
pub enum Buffer {
    /// float32 values.
    F32(Vec<f32>),
    /// float64 values.
    F64(Vec<f64>),
}

impl From<Vec<f32>> for Buffer {
    fn from(v: Vec<f32>) -> Self {
        Buffer::F32(v)
    }
}

impl From<Vec<f64>> for Buffer {
    fn from(v: Vec<f64>) -> Self {
        Buffer::F64(v)
    }
}

/// A recording of a batch: its samples and shape (channels, samples).
pub type Recording<'a> = (Samples<'a>, usize, usize);

/// Run `plans[i]` on `recordings[i]`, `n_threads` recordings at a time (each
/// on one thread of a pool; capped at the cores), with float32 outputs when
/// `out_f32`. One result per recording, in order.
pub fn run_batch(
    recordings: &[Recording<'_>],
    plans: &[Plan],
    out_f32: bool,
    n_threads: usize,
) -> Vec<Result<Output<Buffer>, DspError>> {
    if recordings.len() != plans.len() {
        let e = DspError::invalid(format!(
            "{} recordings but {} plans",
            recordings.len(),
            plans.len()
        ));
        return recordings.iter().map(|_| Err(e.clone())).collect();
    }
    let one = |(rec, plan): (&Recording<'_>, &Plan)| -> Result<Output<Buffer>, DspError> {
        let &(samples, r, c) = rec;
        macro_rules! go {
            ($s:expr) => {
                if out_f32 {
                    plan.run::<_, f32>($s, r, c).map(|o| Output {
                        data: Buffer::F32(o.data),
                        rows: o.rows,
                        cols: o.cols,
                    })
                } else {
                    plan.run::<_, f64>($s, r, c).map(|o| Output {
                        data: Buffer::F64(o.data),
                        rows: o.rows,
                        cols: o.cols,
                    })
                }
            };
        }
        match samples {
            Samples::F32(s) => go!(s),
            Samples::F64(s) => go!(s),
        }
    };
    let n_threads = engine::cap_threads(n_threads);
    if n_threads <= 1 || recordings.len() <= 1 {
        return recordings.iter().zip(plans).map(one).collect();
    }
    match engine::pool(n_threads) {
        Ok(p) => p.install(|| {
            recordings
                .par_iter()
                .zip(plans.par_iter())
                .map(one)
                .collect()
        }),
        Err(e) => recordings.iter().map(|_| Err(e.clone())).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of plan writes every value of its output: a recycled
    /// buffer (filled with NaN in test builds) gives the same result as a
    /// fresh zeroed one.
    #[test]
    fn recycled_outputs_are_fully_overwritten() {
        // (The float32 outputs must reach 8 MB too.)
        let (n_ch, n) = (21usize, 300_000usize);
        let data = crate::testdata::lcg(n_ch * n, 7);
        let base = Recipe {
            l_freq: 0.1,
            h_freq: 49.0,
            order: 4,
            scale: None,
            clip: None,
            pad: FilterPad::Odd,
            resample_pad: ResamplePad::Constant,
        };
        let lanes = || Some((0..20).map(|i| Lane::Diff(i, i + 1)).collect::<Vec<_>>());
        let clipped = Recipe {
            scale: Some(2.0),
            clip: Some(0.3),
            ..base.clone()
        };
        let reflect = Recipe {
            resample_pad: ResamplePad::Reflect,
            ..base.clone()
        };
        let tcp = Some(crate::basis::tcp_lanes());
        let plans = [
            // One sweep (zero-padded resampling).
            Plan::build(&base, 256.0, lanes(), 25, 64, 1).unwrap(),
            // TCP through its 16-lane basis (the 4 derived rows written by the
            // sums), with and without resampling.
            Plan::build(&base, 256.0, tcp.clone(), 25, 64, 1).unwrap(),
            Plan::build(&base, 256.0, tcp, 1, 1, 1).unwrap(),
            // Two passes: clipping, reflect padding, no resampling.
            Plan::build(&clipped, 256.0, lanes(), 25, 64, 1).unwrap(),
            Plan::build(&reflect, 256.0, lanes(), 25, 64, 1).unwrap(),
            Plan::build(&base, 256.0, None, 1, 1, 2).unwrap(),
            // Resampling only.
            Plan {
                sos: None,
                ..Plan::build(&base, 256.0, lanes(), 25, 64, 1).unwrap()
            },
        ];
        for plan in &plans {
            // float32 outputs have their own spare buffer.
            rewrites_recycled::<f64>(plan, &data, n_ch, n);
            rewrites_recycled::<f32>(plan, &data, n_ch, n);
        }
    }

    /// Run `plan`, release its output, run it again: the second output must
    /// reuse the released buffer and hold the same, finite values.
    fn rewrites_recycled<U: Sample>(plan: &Plan, data: &[f64], n_ch: usize, n: usize)
    where
        Vec<U>: PartialEq + Clone,
    {
        let first: Output<Vec<U>> = plan.run(data, n_ch, n).unwrap();
        let want = first.data.clone();
        let at = first.data.as_ptr();
        crate::mem::recycle(first.data);
        let again: Output<Vec<U>> = plan.run(data, n_ch, n).unwrap();
        assert_eq!(
            again.data.as_ptr(),
            at,
            "the released buffer was not reused"
        );
        assert!(
            again.data.iter().all(|&v| v.to_f64().is_finite()),
            "{plan:?}"
        );
        assert!(again.data == want, "{plan:?}");
    }
}
