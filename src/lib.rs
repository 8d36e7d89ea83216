//! Thin PyO3 bindings of the `elm-dsp` core crate.
//!
//! Rules for this layer: convert arrays (zero-copy for C-contiguous float32 and
//! float64 input), check arguments, release the GIL around the maths, and turn
//! every error — including a Rust panic — into a Python exception.

use elm_dsp::design::{self, Section};
use elm_dsp::engine::{self, FilterPad, Lane};
use elm_dsp::pipeline::{self, Buffer, Plan, Recipe, Recording, Samples};
use elm_dsp::polyphase::{PolyPlan, ResamplePad};
use elm_dsp::DspError;
use numpy::{
    PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping};
use std::panic::AssertUnwindSafe;

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

/// The SIMD level the engine uses now: "avx512", "avx2", "sse2", "neon" or
/// "scalar" (set by `ELM_SIMD` or `set_simd_level`, else the best the CPU has).
#[pyfunction]
fn simd_level() -> &'static str {
    elm_dsp::simd::active().level().name()
}

/// The widest SIMD level this CPU supports (what `ELM_SIMD=auto` uses).
#[pyfunction]
fn cpu_simd_level() -> &'static str {
    elm_dsp::simd::detect().name()
}

/// The levels with their own kernel that this CPU can run, narrowest first.
#[pyfunction]
fn kernel_simd_levels() -> Vec<&'static str> {
    elm_dsp::simd::kernel_levels()
        .into_iter()
        .map(|l| l.name())
        .collect()
}

fn warn_runtime(py: Python<'_>, msg: &str) -> PyResult<()> {
    let cat = py.get_type::<pyo3::exceptions::PyRuntimeWarning>();
    let msg = std::ffi::CString::new(msg).unwrap_or_default();
    PyErr::warn(py, &cat, &msg, 1)
}

/// Force the engine's SIMD level for this process ("scalar", "avx2",
/// "avx512"; `None` or "auto" returns to `ELM_SIMD` / the CPU's best). A level
/// the CPU lacks falls back to the widest one below it with a `RuntimeWarning`;
/// an unknown name raises `ValueError`. Returns the level now in use.
#[pyfunction]
#[pyo3(signature = (level = None))]
fn set_simd_level(py: Python<'_>, level: Option<&str>) -> PyResult<&'static str> {
    use elm_dsp::simd::{force, SimdLevel};
    let want = match level.map(str::trim) {
        None => None,
        Some(s) if s.is_empty() || s.eq_ignore_ascii_case("auto") => None,
        Some(s) => Some(SimdLevel::parse(s).ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown SIMD level {s:?}: use 'scalar', 'avx2', 'avx512' or 'auto' \
                 ('sse2', 'neon' and 'baseline' name the portable kernels built \
                 for the target's base instruction set)"
            ))
        })?),
    };
    let isa = force(want);
    if let Some(note) = level.and_then(SimdLevel::foreign_baseline_note) {
        warn_runtime(py, &note)?;
    }
    if let Some(w) = want.filter(|&w| isa.level() < w) {
        warn_runtime(
            py,
            &format!(
                "this CPU does not support the {} kernels; using {} instead",
                w.name(),
                isa.level().name()
            ),
        )?;
    }
    Ok(isa.level().name())
}

fn value_err(e: DspError, names: Option<&[String]>) -> PyErr {
    match (&e, names) {
        (DspError::OutOfMemory { .. }, _) => PyMemoryError::new_err(e.to_string()),
        (DspError::NonFinite { channel, sample }, Some(n)) if *channel < n.len() => {
            PyValueError::new_err(format!(
                "input contains NaN or Inf: channel {channel} ('{}'), first bad sample \
                 {sample}; interpolate or drop it before preprocessing",
                n[*channel]
            ))
        }
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A 2-D float input, borrowed without copying when C-contiguous.
enum Input<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

impl<'py> Input<'py> {
    fn extract(x: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        let ndim = |a: &Bound<'py, PyAny>| -> PyResult<usize> { a.getattr("ndim")?.extract() };
        let is_f64 = x.cast::<PyArrayDyn<f64>>().is_ok();
        let is_f32 = x.cast::<PyArrayDyn<f32>>().is_ok();
        if !is_f64 && !is_f32 {
            return Err(PyTypeError::new_err(format!(
                "{what} must be a numpy array of dtype float32 or float64"
            )));
        }
        let nd = ndim(x)?;
        if nd != 2 {
            return Err(PyValueError::new_err(format!(
                "{what} must be 2-D (n_channels, n_times), got {nd} dimensions"
            )));
        }
        // A non-contiguous view is copied once into C order.
        let x = if x
            .getattr("flags")?
            .get_item("C_CONTIGUOUS")?
            .extract::<bool>()?
        {
            x.clone()
        } else {
            x.py()
                .import("numpy")?
                .call_method1("ascontiguousarray", (x,))?
        };
        let inp = if is_f64 {
            Input::F64(x.cast::<PyArray2<f64>>()?.readonly())
        } else {
            Input::F32(x.cast::<PyArray2<f32>>()?.readonly())
        };
        let (r, c) = inp.shape();
        if r == 0 || c == 0 {
            return Err(PyValueError::new_err(format!(
                "{what} is empty (shape ({r}, {c}))"
            )));
        }
        Ok(inp)
    }

    fn shape(&self) -> (usize, usize) {
        let s = match self {
            Input::F32(a) => a.shape().to_vec(),
            Input::F64(a) => a.shape().to_vec(),
        };
        (s[0], s[1])
    }
}

fn sos_from(sos: PyReadonlyArray2<'_, f64>) -> PyResult<Vec<Section>> {
    let sh = sos.shape();
    if sh[1] != 6 || sh[0] == 0 {
        return Err(PyValueError::new_err(format!(
            "sos must have shape (n_sections, 6), got ({}, {})",
            sh[0], sh[1]
        )));
    }
    let a = sos.as_array();
    Ok((0..sh[0])
        .map(|i| std::array::from_fn(|j| a[[i, j]]))
        .collect())
}

fn sos_to_py<'py>(py: Python<'py>, sos: &[Section]) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let flat: Vec<f64> = sos.iter().flatten().copied().collect();
    PyArray1::from_vec(py, flat).reshape([sos.len(), 6])
}

/// Owner of an output array's memory: when Python frees the array, the
/// buffer goes back to the engine for the next output of a similar size
/// ([`elm_dsp::mem::recycle`]) instead of being unmapped, then faulted in and
/// zeroed again by the OS for the next recording (~5 ms per recording-hour
/// in float64).
#[pyclass(frozen, module = "braindecode_elm._rust")]
struct OutputBuffer(Buffer);

impl Drop for OutputBuffer {
    fn drop(&mut self) {
        match &mut self.0 {
            Buffer::F64(v) => elm_dsp::mem::recycle(std::mem::take(v)),
            Buffer::F32(v) => elm_dsp::mem::recycle(std::mem::take(v)),
        }
    }
}

/// A (rows, cols) NumPy array over an output's memory, without a copy.
fn to_py_2d<'py>(
    py: Python<'py>,
    data: Buffer,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'py, PyAny>> {
    match data {
        Buffer::F64(v) => array_over(py, v, rows, cols),
        Buffer::F32(v) => array_over(py, v, rows, cols),
    }
}

/// [`to_py_2d`] for one precision (`v` goes back into its [`Buffer`] variant
/// for the array's owner).
fn array_over<'py, U: numpy::Element>(
    py: Python<'py>,
    mut v: Vec<U>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'py, PyAny>>
where
    Vec<U>: Into<Buffer>,
{
    if v.len() != rows * cols {
        return Err(PyRuntimeError::new_err(
            "internal error: output of the wrong size (please report it)",
        ));
    }
    // (The heap block does not move with the Vec.)
    let ptr = v.as_mut_ptr();
    let owner = Bound::new(py, OutputBuffer(v.into()))?;
    // SAFETY: `ptr` points to the `rows * cols` values of `U` owned by
    // `owner` (moving the Vec into it does not move them), which becomes the
    // array's base, kept alive as long as the array or a view of it, and
    // does not touch them until it is dropped.
    let arr = unsafe {
        let view = numpy::ndarray::ArrayViewMut2::from_shape_ptr((rows, cols), ptr);
        PyArray2::borrow_from_array(&view, owner.into_any())
    };
    Ok(arr.into_any())
}

fn filter_pad(s: &str) -> PyResult<FilterPad> {
    match s {
        "odd" => Ok(FilterPad::Odd),
        "mne" => Ok(FilterPad::Mne),
        _ => Err(PyValueError::new_err(format!(
            "padtype must be 'odd' or 'mne', got '{s}'"
        ))),
    }
}

fn resample_pad(s: &str) -> PyResult<ResamplePad> {
    match s {
        "constant" => Ok(ResamplePad::Constant),
        "reflect" => Ok(ResamplePad::Reflect),
        _ => Err(PyValueError::new_err(format!(
            "padtype must be 'constant' or 'reflect', got '{s}'"
        ))),
    }
}

/// `scipy.signal.butter(order, [l_freq, h_freq], "bandpass", output="sos", fs=sfreq)`.
#[pyfunction]
fn butter_bandpass_sos<'py>(
    py: Python<'py>,
    order: usize,
    l_freq: f64,
    h_freq: f64,
    sfreq: f64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let sos = design::butter_bandpass_sos(order, l_freq, h_freq, sfreq)
        .map_err(|e| value_err(e, None))?;
    sos_to_py(py, &sos)
}

/// `scipy.signal.sosfilt_zi(sos)`.
#[pyfunction]
fn sosfilt_zi<'py>(
    py: Python<'py>,
    sos: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let sos = design::normalize_sections(&sos_from(sos)?).map_err(|e| value_err(e, None))?;
    let zi = design::sosfilt_zi(&sos);
    let flat: Vec<f64> = zi.iter().flatten().copied().collect();
    PyArray1::from_vec(py, flat).reshape([zi.len(), 2])
}

/// MNE's ringing estimate of `sos` (the padding of its IIR filtering).
#[pyfunction]
fn mne_padlen(sos: PyReadonlyArray2<'_, f64>) -> PyResult<usize> {
    let sos = design::normalize_sections(&sos_from(sos)?).map_err(|e| value_err(e, None))?;
    Ok(design::mne_ringing_samples(&sos))
}

/// `scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))`.
#[pyfunction]
fn firwin_kaiser<'py>(
    py: Python<'py>,
    numtaps: usize,
    cutoff: f64,
    beta: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    if numtaps == 0 || !(cutoff > 0.0 && cutoff < 1.0) || !beta.is_finite() {
        return Err(PyValueError::new_err(
            "firwin_kaiser needs numtaps >= 1, 0 < cutoff < 1 and a finite beta",
        ));
    }
    // The taps (and SciPy-equal window maths) are one buffer of `numtaps`:
    // refuse an impossible size before computing anything.
    drop(
        elm_dsp::mem::zeros::<f64>(numtaps, "firwin_kaiser's taps")
            .map_err(|e| value_err(e, None))?,
    );
    let h = guarded(py, "firwin_kaiser", || {
        design::firwin_kaiser(numtaps, cutoff, beta)
    })?;
    Ok(PyArray1::from_vec(py, h))
}

/// `n_threads` from Python: a positive integer, capped at the usable cores.
fn threads_arg(n_threads: i64) -> PyResult<usize> {
    if n_threads < 1 {
        return Err(PyValueError::new_err(format!(
            "n_threads must be a positive integer (>= 1), got {n_threads}"
        )));
    }
    Ok(engine::cap_threads(
        usize::try_from(n_threads).unwrap_or(usize::MAX),
    ))
}

fn execute<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    job: Plan,
    out_f32: Option<bool>,
    names: Option<Vec<String>>,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let inp = Input::extract(x, "x")?;
    let (n_ch, n) = inp.shape();
    macro_rules! go {
        ($a:expr, $t:ty, $u:ty) => {{
            let data = $a.as_slice()?;
            let job = &job;
            let r = guarded(
                py,
                what,
                AssertUnwindSafe(move || job.run::<$t, $u>(data, n_ch, n)),
            )?;
            let o = r.map_err(|e| value_err(e, names.as_deref()))?;
            to_py_2d(py, o.data.into(), o.rows, o.cols)
        }};
    }
    match (&inp, out_f32) {
        (Input::F32(a), None | Some(true)) => go!(a, f32, f32),
        (Input::F32(a), Some(false)) => go!(a, f32, f64),
        (Input::F64(a), Some(true)) => go!(a, f64, f32),
        (Input::F64(a), None | Some(false)) => go!(a, f64, f64),
    }
}

/// Zero-phase SOS filtering along the last axis; same dtype out.
#[pyfunction]
#[pyo3(signature = (sos, x, padtype = "odd"))]
fn sosfiltfilt<'py>(
    py: Python<'py>,
    sos: PyReadonlyArray2<'py, f64>,
    x: &Bound<'py, PyAny>,
    padtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let job = Plan {
        lanes: None,
        sos: Some(sos_from(sos)?),
        pad: filter_pad(padtype)?,
        resampler: None,
        scale: None,
        clip: None,
        n_threads: 1,
    };
    execute(py, x, job, None, None, "sosfiltfilt")
}

/// `scipy.signal.resample_poly(x, up, down, axis=-1, padtype=...)`; same dtype out.
#[pyfunction]
#[pyo3(signature = (x, up, down, padtype = "constant"))]
fn resample_poly<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    up: i64,
    down: i64,
    padtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    if up <= 0 || down <= 0 {
        return Err(PyValueError::new_err(format!(
            "up and down must be positive integers, got up={up}, down={down}"
        )));
    }
    let plan = PolyPlan::new(up as usize, down as usize, resample_pad(padtype)?)
        .map_err(|e| value_err(e, None))?;
    let job = Plan {
        lanes: None,
        sos: None,
        pad: FilterPad::Odd,
        resampler: Some(plan),
        scale: None,
        clip: None,
        n_threads: 1,
    };
    execute(py, x, job, None, None, "resample_poly")
}

fn lanes_from(index: Option<PyReadonlyArray2<'_, i64>>) -> PyResult<Option<Vec<Lane>>> {
    let Some(index) = index else { return Ok(None) };
    let sh = index.shape();
    if sh[1] != 2 || sh[0] == 0 {
        return Err(PyValueError::new_err(format!(
            "montage index must have shape (n_pairs, 2), got ({}, {})",
            sh[0], sh[1]
        )));
    }
    let a = index.as_array();
    (0..sh[0])
        .map(|i| {
            let (p, q) = (a[[i, 0]], a[[i, 1]]);
            if p < 0 || q < 0 {
                return Err(PyValueError::new_err("montage index must be non-negative"));
            }
            Ok(Lane::Diff(p as usize, q as usize))
        })
        .collect::<PyResult<Vec<_>>>()
        .map(Some)
}

/// One field of the recipe, read by name from a mapping or an object.
fn field<'py>(recipe: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let got = if let Ok(d) = recipe.cast::<PyDict>() {
        d.get_item(name)?
    } else if let Ok(m) = recipe.cast::<PyMapping>() {
        // Any collections.abc.Mapping (a MappingProxyType of a dict read
        // attributes and said "no field").
        m.get_item(name).ok()
    } else {
        recipe.getattr(name).ok()
    };
    got.ok_or_else(|| {
        PyValueError::new_err(format!(
            "recipe has no field '{name}': pass a braindecode_elm.dsp.Recipe or a \
             dict of its fields (l_freq, h_freq, order, scale, clip, padtype, \
             resample_padtype)"
        ))
    })
}

/// `recipe.name` converted to `T`, or a `TypeError` naming the field and type.
fn typed<'py, T: FromPyObjectOwned<'py>>(
    recipe: &Bound<'py, PyAny>,
    name: &str,
    want: &str,
) -> PyResult<T> {
    let v = field(recipe, name)?;
    v.extract::<T>().map_err(|_| {
        let got = v
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!("recipe field '{name}' must be {want}, got {got}"))
    })
}

/// The engine options of a `dsp.Recipe` (or a dict of its fields), by name.
fn recipe_from(recipe: &Bound<'_, PyAny>) -> PyResult<Recipe> {
    // A recipe for MNE's chain must not run silently through the engine.
    let method = match recipe.cast::<PyDict>() {
        Ok(d) => d.get_item("method")?,
        Err(_) => recipe.getattr("method").ok(),
    };
    if let Some(m) = method {
        let m: String = m
            .extract()
            .map_err(|_| PyTypeError::new_err("recipe field 'method' must be a str"))?;
        if m != "engine" {
            return Err(PyValueError::new_err(format!(
                "recipe method '{m}' is not the engine's; use \
                 braindecode_elm.dsp.preprocess_raw for method='mne'"
            )));
        }
    }
    let order: i64 = typed(recipe, "order", "an int")?;
    Ok(Recipe {
        l_freq: typed(recipe, "l_freq", "a float")?,
        h_freq: typed(recipe, "h_freq", "a float")?,
        order: usize::try_from(order).map_err(|_| {
            PyValueError::new_err(format!("recipe field 'order' must be >= 1, got {order}"))
        })?,
        scale: typed(recipe, "scale", "a float or None")?,
        clip: typed(recipe, "clip", "a float or None")?,
        pad: filter_pad(&typed::<String>(recipe, "padtype", "a str")?)?,
        resample_pad: resample_pad(&typed::<String>(recipe, "resample_padtype", "a str")?)?,
    })
}

fn factor(v: i64, name: &str) -> PyResult<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&u| u > 0)
        .ok_or_else(|| PyValueError::new_err(format!("{name} must be a positive integer, got {v}")))
}

/// One recording's plan: the recipe's filter designed at `sfreq` in the core.
fn plan_for(
    recipe: &Recipe,
    sfreq: f64,
    index: Option<PyReadonlyArray2<'_, i64>>,
    up: i64,
    down: i64,
    n_threads: usize,
) -> PyResult<Plan> {
    let (up, down) = (factor(up, "up")?, factor(down, "down")?);
    Plan::build(recipe, sfreq, lanes_from(index)?, up, down, n_threads)
        .map_err(|e| value_err(e, None))
}

/// The fused path: montage → band-pass (zero-phase) → scale → clip → resample,
/// with the band-pass of `recipe` designed at `sfreq`.
#[pyfunction]
#[pyo3(signature = (x, recipe, sfreq, index, up, down, out_f32, n_threads, ch_names = None))]
#[allow(clippy::too_many_arguments)]
fn preprocess<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    recipe: &Bound<'py, PyAny>,
    sfreq: f64,
    index: Option<PyReadonlyArray2<'py, i64>>,
    up: i64,
    down: i64,
    out_f32: bool,
    n_threads: i64,
    ch_names: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let threads = threads_arg(n_threads)?;
    let job = plan_for(&recipe_from(recipe)?, sfreq, index, up, down, threads)?;
    execute(py, x, job, Some(out_f32), ch_names, "preprocess")
}

/// Many recordings through the fused path, `n_threads` recordings at a time.
///
/// All recordings share `recipe`; `sfreqs`, `indices`, `ups` and `downs` are
/// given per recording. Returns a list of arrays.
#[pyfunction]
#[pyo3(signature = (xs, recipe, sfreqs, indices, ups, downs, out_f32, n_threads))]
#[allow(clippy::too_many_arguments)]
fn preprocess_batch<'py>(
    py: Python<'py>,
    xs: Vec<Bound<'py, PyAny>>,
    recipe: &Bound<'py, PyAny>,
    sfreqs: Vec<f64>,
    indices: Vec<Option<PyReadonlyArray2<'py, i64>>>,
    ups: Vec<i64>,
    downs: Vec<i64>,
    out_f32: bool,
    n_threads: i64,
) -> PyResult<Bound<'py, PyList>> {
    let threads = threads_arg(n_threads)?;
    let recipe = recipe_from(recipe)?;
    let n = xs.len();
    if sfreqs.len() != n || indices.len() != n || ups.len() != n || downs.len() != n {
        return Err(PyValueError::new_err(
            "xs, sfreqs, indices, ups and downs must have the same length",
        ));
    }
    let inputs: Vec<Input<'py>> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| Input::extract(x, &format!("xs[{i}]")))
        .collect::<PyResult<_>>()?;
    let mut jobs = Vec::with_capacity(n);
    for (i, (((idx, sfreq), up), down)) in indices
        .into_iter()
        .zip(sfreqs)
        .zip(ups)
        .zip(downs)
        .enumerate()
    {
        jobs.push(
            plan_for(&recipe, sfreq, idx, up, down, 1)
                .map_err(|e| PyValueError::new_err(format!("recording {i}: {}", e.value(py))))?,
        );
    }
    // Borrow every input as an f64 or f32 slice (no copy), then fan out.
    let recordings: Vec<Recording<'_>> = inputs
        .iter()
        .map(|inp| {
            let (r, c) = inp.shape();
            Ok(match inp {
                Input::F32(a) => (Samples::F32(a.as_slice()?), r, c),
                Input::F64(a) => (Samples::F64(a.as_slice()?), r, c),
            })
        })
        .collect::<PyResult<_>>()?;
    let results = guarded(
        py,
        "preprocess_batch",
        AssertUnwindSafe(|| pipeline::run_batch(&recordings, &jobs, out_f32, threads)),
    )?;
    let list = PyList::empty(py);
    for (i, r) in results.into_iter().enumerate() {
        let o = r.map_err(|e| match e {
            DspError::OutOfMemory { .. } => PyMemoryError::new_err(format!("recording {i}: {e}")),
            _ => PyValueError::new_err(format!("recording {i}: {e}")),
        })?;
        list.append(to_py_2d(py, o.data, o.rows, o.cols)?)?;
    }
    Ok(list)
}

#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", elm_dsp::VERSION)?;
    // `preprocess`/`preprocess_batch` take a recipe object: Python checks this
    // flag so that an extension built before that falls back, never misreads.
    m.add("TAKES_RECIPE", true)?;
    m.add_function(wrap_pyfunction!(roundtrip, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(cpu_simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_simd_levels, m)?)?;
    m.add_function(wrap_pyfunction!(set_simd_level, m)?)?;
    // An `ELM_SIMD` the CPU cannot honour falls back; say so once, at import.
    if let Some(w) = &elm_dsp::simd::env_choice().warning {
        warn_runtime(m.py(), w)?;
    }
    m.add_function(wrap_pyfunction!(butter_bandpass_sos, m)?)?;
    m.add_function(wrap_pyfunction!(sosfilt_zi, m)?)?;
    m.add_function(wrap_pyfunction!(mne_padlen, m)?)?;
    m.add_function(wrap_pyfunction!(firwin_kaiser, m)?)?;
    m.add_function(wrap_pyfunction!(sosfiltfilt, m)?)?;
    m.add_function(wrap_pyfunction!(resample_poly, m)?)?;
    m.add_function(wrap_pyfunction!(preprocess, m)?)?;
    m.add_function(wrap_pyfunction!(preprocess_batch, m)?)?;
    Ok(())
}
