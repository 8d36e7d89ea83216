//! Memory policy of the engine's outputs: sizes checked against the machine,
//! fallible allocation (an impossible size is an error, never an abort) and
//! lazily zeroed buffers backed by huge pages where Linux offers them.

use crate::DspError;
use std::alloc::{alloc_zeroed, Layout};
use std::sync::Mutex;

/// Physical memory of this machine in bytes, where the OS says.
pub fn physical_memory() -> Option<u128> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system configuration values.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            return Some(pages as u128 * size as u128);
        }
    }
    None
}

/// Refuse a buffer of `n` values of `T` for `what` that cannot exist: larger
/// than the machine's physical memory (with overcommit the allocation would
/// "succeed" and the process be killed when touching it) or than the address
/// space.
pub fn check_size<T>(n: usize, what: &str) -> Result<(), DspError> {
    let bytes = n as u128 * std::mem::size_of::<T>() as u128;
    if let Some(ram) = physical_memory() {
        if bytes > ram {
            return Err(DspError::OutOfMemory {
                what: format!(
                    "{what} ({n} values; this machine has {} of memory)",
                    crate::human_bytes(ram)
                ),
                bytes: Some(bytes),
            });
        }
    }
    if bytes > isize::MAX as u128 {
        return Err(DspError::OutOfMemory {
            what: format!("{what} ({n} values)"),
            bytes: Some(bytes),
        });
    }
    Ok(())
}

/// A float type whose all-zero bit pattern is `0.0` (so a zeroed allocation
/// is a buffer of zeros).
///
/// # Safety
/// Implementors must be plain data for which all-zero bytes are a valid value.
pub unsafe trait ZeroBits: Copy {}
// SAFETY: IEEE-754 +0.0 is all zero bits.
unsafe impl ZeroBits for f32 {}
// SAFETY: as above.
unsafe impl ZeroBits for f64 {}

/// `n` zeros of `T` for `what`, checked by [`check_size`] and allocated
/// fallibly. Large buffers come from the allocator's zeroed memory (fresh
/// pages from the OS, zeroed when first written, not by a pass of our own)
/// and are advised to use huge pages before anything touches them: a
/// 60-minute recording's float64 output is ~58 MB, and writing zeros into it
/// in 4 kB pages first cost ~9 ms, a tenth of the whole preprocessing.
pub fn zeros<T: ZeroBits>(n: usize, what: &str) -> Result<Vec<T>, DspError> {
    check_size::<T>(n, what)?;
    if n == 0 || std::mem::size_of::<T>() == 0 {
        return Ok(Vec::new());
    }
    let err = || DspError::OutOfMemory {
        what: format!("{what} ({n} values)"),
        bytes: Some(n as u128 * std::mem::size_of::<T>() as u128),
    };
    let layout = Layout::array::<T>(n).map_err(|_| err())?;
    // SAFETY: the layout has a non-zero size (checked above).
    let ptr = unsafe { alloc_zeroed(layout) } as *mut T;
    if ptr.is_null() {
        return Err(err());
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of
    // `n` values of `T`, all of them zero bits, a valid `T` (`ZeroBits`).
    let mut v = unsafe { Vec::from_raw_parts(ptr, n, n) };
    huge_pages(&mut v);
    Ok(v)
}

/// Smallest buffer worth keeping for reuse (as [`huge_pages`]: 8 MB).
const SPARE_MIN_BYTES: usize = 4 * (2 << 20);

/// A float type whose large outputs are kept for reuse: one spare buffer per
/// type (see [`recycle`] and [`output`]).
pub trait Recyclable: ZeroBits + 'static {
    /// A value no correct output holds where the engine wrote nothing: a
    /// reused buffer is filled with it in test and debug builds.
    const NAN: Self;
    /// The last large output of this type that its user let go of.
    fn spare() -> &'static Mutex<Option<Vec<Self>>>;
}

impl Recyclable for f64 {
    const NAN: Self = f64::NAN;
    fn spare() -> &'static Mutex<Option<Vec<Self>>> {
        static SPARE: Mutex<Option<Vec<f64>>> = Mutex::new(None);
        &SPARE
    }
}

impl Recyclable for f32 {
    const NAN: Self = f32::NAN;
    fn spare() -> &'static Mutex<Option<Vec<Self>>> {
        static SPARE: Mutex<Option<Vec<f32>>> = Mutex::new(None);
        &SPARE
    }
}

/// Keep `v`, a large output nobody uses any more, for the next [`output`] of
/// a similar size (one buffer per precision at most; a smaller one is
/// freed). A fresh 58 MB output costs the OS ~5 ms of page faults and
/// zeroing per call and its release unmaps it again; preprocessing one
/// recording after another reuses the same pages instead.
pub fn recycle<T: Recyclable>(v: Vec<T>) {
    if std::mem::size_of_val(&v[..]) < SPARE_MIN_BYTES {
        return;
    }
    if let Ok(mut spare) = T::spare().lock() {
        *spare = Some(v);
    }
}

/// The spare buffer of `T` when it holds `n` to `2 n` values.
fn take_spare<T: Recyclable>(n: usize) -> Option<Vec<T>> {
    let mut spare = T::spare().lock().ok()?;
    let fits = spare
        .as_ref()
        .is_some_and(|v| v.len() >= n && v.len() / 2 <= n);
    let mut v = if fits { spare.take()? } else { return None };
    v.truncate(n);
    Some(v)
}

/// `n` values of `T` for `what` whose contents are unspecified (the caller
/// overwrites every one): the buffer kept by [`recycle`] when it holds `n`
/// to `2 n` values of `T`, else [`zeros`].
pub fn output<T: Recyclable>(n: usize, what: &str) -> Result<Vec<T>, DspError> {
    if n.saturating_mul(std::mem::size_of::<T>()) >= SPARE_MIN_BYTES {
        if let Some(v) = take_spare::<T>(n) {
            // Stale values would go unnoticed: the tests' builds fill a
            // reused buffer with NaN so that any output the engine failed
            // to write shows.
            #[cfg(any(test, debug_assertions))]
            let v = {
                let mut v = v;
                v.fill(T::NAN);
                v
            };
            return Ok(v);
        }
    }
    zeros(n, what)
}

/// Ask Linux for transparent huge pages on a large, still untouched buffer (a
/// no-op elsewhere or when THP is off): faulting a 58 MB output in 4 kB pages
/// costs more than in 2 MB pages.
pub fn huge_pages<U>(buf: &mut [U]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = std::mem::size_of_val(buf);
        if bytes < 4 * HUGE {
            return;
        }
        let start = buf.as_mut_ptr() as usize;
        let lo = start.div_ceil(HUGE) * HUGE;
        let hi = (start + bytes) / HUGE * HUGE;
        if lo < hi {
            // SAFETY: [lo, hi) lies inside `buf`'s allocation; MADV_HUGEPAGE
            // is only advice and never changes the memory's contents.
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_zero_and_sized() {
        for n in [0usize, 1, 1000, 3 << 20] {
            let v: Vec<f64> = zeros(n, "test").unwrap();
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.0));
            let w: Vec<f32> = zeros(n, "test").unwrap();
            assert_eq!(w.len(), n);
            assert!(w.iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn impossible_sizes_are_errors_naming_the_buffer() {
        let e = zeros::<f64>(usize::MAX / 4, "the output").unwrap_err();
        match &e {
            DspError::OutOfMemory { what, .. } => assert!(what.contains("the output"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("cannot allocate"), "{e}");
        if let Some(ram) = physical_memory() {
            let n = (ram / 8 + 1) as usize;
            let e = check_size::<f64>(n, "a buffer").unwrap_err();
            assert!(e.to_string().contains("this machine has"), "{e}");
        }
    }
}
