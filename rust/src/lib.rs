//! `elm-dsp`: the pure-Rust preprocessing core of braindecode-elm.
//!
//! This crate knows nothing of Python. The PyO3 extension at the workspace root
//! converts arrays and errors; everything numerical lives here:
//!
//! * [`design`]: Butterworth band-pass → SOS, `sosfilt_zi`, Kaiser `firwin`,
//!   MNE's ringing estimate, all reproducing SciPy/MNE numbers;
//! * [`polyphase`]: the `resample_poly` plan (only kept outputs computed);
//! * [`kernel`]: the fused montage → forward → backward → decimator kernel,
//!   SIMD lanes = channels, run-time dispatch AVX-512 / AVX2 / scalar;
//! * [`engine`]: entry points on channel-major slices and the batch driver.

pub mod design;
pub mod engine;
pub mod kernel;
pub mod onepass;
pub mod polyphase;
pub mod simd;

use std::fmt;

/// Crate version, reported by the Python extension.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Errors of the engine; all of them are bad input (Python `ValueError`).
#[derive(Clone, Debug, PartialEq)]
pub enum DspError {
    /// A bad argument, with the message to show.
    Invalid(String),
    /// NaN or Inf in the input.
    NonFinite {
        /// Input channel (row) index.
        channel: usize,
        /// First bad sample in that channel.
        sample: usize,
    },
    /// The signal is shorter than the filter's padding.
    TooShort {
        /// Samples given.
        n_times: usize,
        /// Samples needed at least.
        needed: usize,
    },
}

impl DspError {
    /// Shorthand for [`DspError::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
}

impl fmt::Display for DspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(m) => f.write_str(m),
            Self::NonFinite { channel, sample } => write!(
                f,
                "input contains NaN or Inf: channel {channel}, first bad sample {sample}; \
                 interpolate or drop it before preprocessing"
            ),
            Self::TooShort { n_times, needed } => write!(
                f,
                "signal too short: {n_times} samples, but zero-phase filtering pads \
                 {} samples at each end and needs at least {needed}",
                needed - 1
            ),
        }
    }
}

impl std::error::Error for DspError {}
