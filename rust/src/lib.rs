//! `elm-dsp`: the pure-Rust preprocessing core of braindecode-elm.
//!
//! This crate knows nothing of Python. The PyO3 extension at the workspace root
//! converts arrays and errors; everything numerical lives here:
//!
//! * [`design`]: Butterworth band-pass → SOS, `sosfilt_zi`, Kaiser `firwin`,
//!   MNE's ringing estimate, all reproducing SciPy/MNE numbers;
//! * [`polyphase`]: the `resample_poly` plan (only kept outputs computed);
//! * [`kernel`]: the fused montage → forward → backward kernel, SIMD lanes =
//!   channels; [`decim`]: its polyphase decimator; [`onepass`]: filtering and
//!   decimation in one sweep; [`dispatch`]: the kernel for a block (AVX-512 /
//!   AVX2 / scalar, chosen by the caller's level);
//! * [`engine`]: entry points on channel-major slices; [`basis`]: a montage
//!   as fewer filtered lanes plus exact sums (TCP: 16 lanes for 20 channels);
//! * [`pipeline`]: one recording's plan (montage, filter, resampler, scale,
//!   clip) run into a new output, and the batch driver (a thread pool);
//! * [`mem`]: output buffers (size checks, fallible lazily zeroed allocation,
//!   huge pages).

pub mod basis;
pub mod decim;
pub mod design;
pub mod dispatch;
pub mod engine;
pub mod kernel;
pub mod mem;
pub mod onepass;
pub mod pipeline;
pub mod polyphase;
pub mod simd;
#[doc(hidden)]
pub mod testdata;

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
    /// A buffer too large to allocate (Python `MemoryError`).
    OutOfMemory {
        /// What the buffer is for.
        what: String,
        /// Its size in bytes (`None`: beyond the address space).
        bytes: Option<u128>,
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
            Self::OutOfMemory { what, bytes } => match bytes {
                Some(b) => write!(
                    f,
                    "cannot allocate {} for {what}; reduce the input length or the \
                     requested size",
                    human_bytes(*b)
                ),
                None => write!(
                    f,
                    "{what} would exceed the address space; reduce the input length or \
                     the requested size"
                ),
            },
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

/// `1.5 GB`-style size.
pub fn human_bytes(b: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// `n` copies of `fill`, allocated fallibly: an impossible size is an
/// [`DspError::OutOfMemory`] naming `what`, never an abort.
pub fn try_vec<T: Clone>(n: usize, fill: T, what: &str) -> Result<Vec<T>, DspError> {
    let bytes = (n as u128) * (std::mem::size_of::<T>() as u128);
    let err = || DspError::OutOfMemory {
        what: format!("{what} ({n} values)"),
        bytes: Some(bytes),
    };
    if bytes > isize::MAX as u128 {
        return Err(err());
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| err())?;
    v.resize(n, fill);
    Ok(v)
}
