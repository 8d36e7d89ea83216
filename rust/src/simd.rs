//! Run-time SIMD level detection.
//!
//! Wheels are built for a generic x86-64 baseline; the fast kernels pick their
//! instruction set at run time from what this module reports.

/// The widest SIMD instruction set usable on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// No vector extension beyond the target baseline.
    Scalar,
    /// SSE2 (x86-64 baseline) or NEON (aarch64).
    Baseline,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 Foundation.
    Avx512,
}

impl SimdLevel {
    /// Human-readable name, as reported to Python.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Baseline => {
                if cfg!(target_arch = "aarch64") {
                    "neon"
                } else {
                    "sse2"
                }
            }
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }
}

/// Detect the SIMD level of the running CPU.
pub fn detect() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return SimdLevel::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return SimdLevel::Avx2;
        }
        SimdLevel::Baseline
    }
    #[cfg(target_arch = "aarch64")]
    {
        SimdLevel::Baseline
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        SimdLevel::Scalar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_is_stable_and_named() {
        let a = detect();
        assert_eq!(a, detect());
        assert!(["scalar", "sse2", "neon", "avx2", "avx512"].contains(&a.name()));
        #[cfg(target_arch = "x86_64")]
        assert!(a >= SimdLevel::Baseline);
    }
}
