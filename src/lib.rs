//! Thin PyO3 bindings of the `elm-dsp` core crate.
//!
//! Rules for this layer: convert arrays (zero-copy for C-contiguous float32 and
//! float64 input), check arguments, release the GIL around the maths, and turn
//! every error — including a Rust panic — into a Python exception.

use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;

/// Run `f` without the GIL and convert a panic into a Python `RuntimeError`.
pub(crate) fn guarded<T: Send, F: FnOnce() -> T + Send + std::panic::UnwindSafe>(
    py: Python<'_>,
    what: &str,
    f: F,
) -> PyResult<T> {
    py.detach(|| std::panic::catch_unwind(f)).map_err(|e| {
        let msg = e
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| e.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        PyRuntimeError::new_err(format!(
            "internal error in {what} (please report it): {msg}"
        ))
    })
}

/// Return `x` itself when it is a C-contiguous float32/float64 array, else raise.
///
/// Used by the smoke tests to prove that arrays cross the boundary without a copy;
/// it also sums the data without the GIL so the zero-copy view is really read.
#[pyfunction]
fn roundtrip<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, f64)> {
    if let Ok(a) = x.cast::<PyArrayDyn<f64>>() {
        if !a.is_c_contiguous() {
            return Err(PyTypeError::new_err(
                "roundtrip: array must be C-contiguous",
            ));
        }
        let ro = a.readonly();
        let s = ro.as_slice()?;
        let total = guarded(py, "roundtrip", || s.iter().sum::<f64>())?;
        return Ok((x.clone(), total));
    }
    if let Ok(a) = x.cast::<PyArrayDyn<f32>>() {
        if !a.is_c_contiguous() {
            return Err(PyTypeError::new_err(
                "roundtrip: array must be C-contiguous",
            ));
        }
        let ro = a.readonly();
        let s = ro.as_slice()?;
        let total = guarded(py, "roundtrip", || s.iter().map(|&v| v as f64).sum::<f64>())?;
        return Ok((x.clone(), total));
    }
    Err(PyTypeError::new_err(
        "roundtrip: expected a numpy array of dtype float32 or float64",
    ))
}

/// The SIMD instruction set detected at run time ("avx512", "avx2", "sse2", ...).
#[pyfunction]
fn simd_level() -> &'static str {
    elm_dsp::simd::detect().name()
}

#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", elm_dsp::VERSION)?;
    m.add_function(wrap_pyfunction!(roundtrip, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    Ok(())
}
