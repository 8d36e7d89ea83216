//! `elm-dsp`: the pure-Rust preprocessing core of braindecode-elm.
//!
//! This crate knows nothing of Python. The PyO3 extension at the workspace root
//! converts arrays and errors; everything numerical lives here.

pub mod simd;

/// Crate version, reported by the Python extension.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
