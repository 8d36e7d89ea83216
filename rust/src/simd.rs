//! Which SIMD kernels run: chosen in one place, passed down as a proof.
//!
//! Wheels are built for a generic baseline (x86-64 or aarch64); the fast
//! kernels pick their instruction set at run time. The choice is made once per
//! call by [`Isa::new`] (a requested level, clamped to what the CPU has) or
//! [`active`] (the process-wide level: `ELM_SIMD`, or a [`force`]d one, else
//! the best the CPU has). Kernels receive the resulting [`Isa`] and never
//! detect anything themselves: an `Isa` can only be built through the clamp,
//! so holding one proves its instructions exist on this CPU.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// A SIMD instruction set, ordered from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// The portable kernel, whatever the compiler makes of it.
    Scalar,
    /// SSE2 (x86-64 baseline) or NEON (aarch64): runs the portable kernel,
    /// which the compiler vectorises for the baseline.
    Baseline,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 Foundation (+ VL) with FMA.
    Avx512,
}

/// Every level, narrowest first.
const ALL: [SimdLevel; 4] = [
    SimdLevel::Scalar,
    SimdLevel::Baseline,
    SimdLevel::Avx2,
    SimdLevel::Avx512,
];

impl SimdLevel {
    /// Human-readable name, as reported to Python and accepted by `ELM_SIMD`.
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

    /// Parse a level name (case-insensitive; `sse2`, `neon` and `baseline`
    /// all mean the target's baseline). `None` for anything else.
    pub fn parse(s: &str) -> Option<SimdLevel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(SimdLevel::Scalar),
            "baseline" | "sse2" | "neon" => Some(SimdLevel::Baseline),
            "avx2" => Some(SimdLevel::Avx2),
            "avx512" => Some(SimdLevel::Avx512),
            _ => None,
        }
    }

    /// A note when `s` names the base level of another architecture (`neon`
    /// on x86-64, `sse2` on aarch64): it parses as this target's baseline
    /// (the same portable kernels), which the user should be told.
    pub fn foreign_baseline_note(s: &str) -> Option<String> {
        let s = s.trim().to_ascii_lowercase();
        let own = SimdLevel::Baseline.name();
        let foreign = match s.as_str() {
            "neon" => "aarch64",
            "sse2" => "x86-64",
            _ => return None,
        };
        (s != own).then(|| {
            format!(
                "{s} is the {foreign} base level; this build runs the portable \
                 kernels on its own base level, {own}"
            )
        })
    }

    fn code(self) -> u8 {
        ALL.iter().position(|&l| l == self).unwrap() as u8
    }
}

fn detect_uncached() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        let fma = std::arch::is_x86_feature_detected!("fma");
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && fma
        {
            return SimdLevel::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && fma {
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

/// The widest SIMD level the running CPU supports (cached).
pub fn detect() -> SimdLevel {
    static CPU: OnceLock<SimdLevel> = OnceLock::new();
    *CPU.get_or_init(detect_uncached)
}

/// The levels with a kernel of their own that this CPU can run, narrowest
/// first (`scalar`, then `avx2` and `avx512` where present; the baseline runs
/// the scalar kernel, so it is not listed separately).
pub fn kernel_levels() -> Vec<SimdLevel> {
    [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512]
        .into_iter()
        .filter(|&l| l <= detect())
        .collect()
}

/// A SIMD level this CPU is known to support. The only constructor clamps
/// the request to [`detect`], so kernels may rely on it without checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isa(SimdLevel);

impl Isa {
    /// `requested`, or the widest level below it that the CPU supports.
    pub fn new(requested: SimdLevel) -> Isa {
        Isa(requested.min(detect()))
    }

    /// The portable kernel (always available).
    pub fn scalar() -> Isa {
        Isa(SimdLevel::Scalar)
    }

    /// The level this token stands for.
    pub fn level(self) -> SimdLevel {
        self.0
    }

    /// AVX2 and FMA are available (x86-64 only).
    #[inline(always)]
    pub fn has_avx2(self) -> bool {
        cfg!(target_arch = "x86_64") && self.0 >= SimdLevel::Avx2
    }

    /// AVX-512 F/VL and FMA are available (x86-64 only).
    #[inline(always)]
    pub fn has_avx512(self) -> bool {
        cfg!(target_arch = "x86_64") && self.0 >= SimdLevel::Avx512
    }
}

/// A level choice and, when the request could not be honoured, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The level that will run.
    pub isa: Isa,
    /// A message for the user when the request was unknown or unsupported.
    pub warning: Option<String>,
}

/// Resolve a requested level name (`ELM_SIMD`'s value): `None`, empty or
/// `auto` give the best the CPU has; an unknown name or a level the CPU lacks
/// falls back (to the best available, resp. the widest supported below it)
/// with a warning message. Never fails.
pub fn choose(request: Option<&str>) -> Choice {
    let best = Isa::new(SimdLevel::Avx512);
    let Some(req) = request.map(str::trim).filter(|s| !s.is_empty()) else {
        return Choice {
            isa: best,
            warning: None,
        };
    };
    if req.eq_ignore_ascii_case("auto") {
        return Choice {
            isa: best,
            warning: None,
        };
    }
    match SimdLevel::parse(req) {
        None => Choice {
            isa: best,
            warning: Some(format!(
                "ELM_SIMD={req:?} is not one of auto, scalar, avx2, avx512 \
                 (or sse2/neon/baseline: the portable kernels on the target's \
                 base instruction set); using {}",
                best.level().name()
            )),
        },
        Some(want) => {
            let isa = Isa::new(want);
            let warning = if isa.level() < want {
                Some(format!(
                    "ELM_SIMD={req}: this CPU does not support {}; using {} instead",
                    want.name(),
                    isa.level().name()
                ))
            } else {
                SimdLevel::foreign_baseline_note(req).map(|n| format!("ELM_SIMD={req}: {n}"))
            };
            Choice { isa, warning }
        }
    }
}

/// The choice made from the `ELM_SIMD` environment variable (read once).
pub fn env_choice() -> &'static Choice {
    static ENV: OnceLock<Choice> = OnceLock::new();
    ENV.get_or_init(|| choose(std::env::var("ELM_SIMD").ok().as_deref()))
}

/// Forced level code + 1 (0: not forced).
static FORCED: AtomicU8 = AtomicU8::new(0);

/// Force the process-wide level (clamped to the CPU; `None` returns to the
/// `ELM_SIMD` / detected default). Returns the level now in use.
pub fn force(level: Option<SimdLevel>) -> Isa {
    match level {
        Some(l) => {
            let isa = Isa::new(l);
            FORCED.store(isa.level().code() + 1, Ordering::Relaxed);
            isa
        }
        None => {
            FORCED.store(0, Ordering::Relaxed);
            env_choice().isa
        }
    }
}

/// The process-wide level: the [`force`]d one, else `ELM_SIMD`'s, else the
/// best the CPU has. Entry points without an explicit level use this.
pub fn active() -> Isa {
    match FORCED.load(Ordering::Relaxed) {
        0 => env_choice().isa,
        c => Isa::new(ALL[(c - 1) as usize]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_is_stable_and_named() {
        let a = detect();
        assert_eq!(a, detect());
        assert_eq!(a, detect_uncached());
        assert!(["scalar", "sse2", "neon", "avx2", "avx512"].contains(&a.name()));
        #[cfg(target_arch = "x86_64")]
        assert!(a >= SimdLevel::Baseline);
    }

    #[test]
    fn names_round_trip() {
        for l in ALL {
            assert_eq!(SimdLevel::parse(l.name()), Some(l));
            assert_eq!(SimdLevel::parse(&l.name().to_uppercase()), Some(l));
        }
        assert_eq!(SimdLevel::parse("avx"), None);
    }

    #[test]
    fn isa_never_exceeds_the_cpu() {
        for l in ALL {
            let isa = Isa::new(l);
            assert!(isa.level() <= detect());
            assert!(isa.level() <= l);
            if l <= detect() {
                assert_eq!(isa.level(), l);
            }
        }
        assert_eq!(Isa::scalar().level(), SimdLevel::Scalar);
        assert!(!Isa::scalar().has_avx2());
    }

    #[test]
    fn choose_falls_back_with_a_warning() {
        let best = detect();
        for req in [None, Some(""), Some("auto"), Some(" AUTO ")] {
            let c = choose(req);
            assert_eq!(c.isa.level(), best, "{req:?}");
            assert!(c.warning.is_none());
        }
        let c = choose(Some("scalar"));
        assert_eq!(c.isa.level(), SimdLevel::Scalar);
        assert!(c.warning.is_none());
        let c = choose(Some("avx9000"));
        assert_eq!(c.isa.level(), best);
        let w = c.warning.unwrap();
        assert!(
            w.contains("avx9000") && w.contains("scalar, avx2, avx512"),
            "{w}"
        );
        let c = choose(Some("avx512"));
        assert_eq!(c.isa.level(), best);
        assert_eq!(c.warning.is_some(), best < SimdLevel::Avx512);
        if let Some(w) = c.warning {
            assert!(w.contains("does not support avx512"), "{w}");
            assert!(w.contains(best.name()), "{w}");
        }
    }

    #[test]
    fn another_architectures_base_level_is_named() {
        let own = SimdLevel::Baseline.name();
        let other = if own == "neon" { "sse2" } else { "neon" };
        assert!(SimdLevel::foreign_baseline_note(own).is_none());
        assert!(SimdLevel::foreign_baseline_note("avx2").is_none());
        let c = choose(Some(other));
        assert_eq!(c.isa.level(), SimdLevel::Baseline.min(detect()));
        let w = c.warning.expect("a foreign base level is named");
        assert!(w.contains(other) && w.contains(own), "{w}");
        assert!(choose(Some(own)).warning.is_none() || detect() < SimdLevel::Baseline);
    }

    #[test]
    fn kernel_levels_are_supported_and_start_scalar() {
        let k = kernel_levels();
        assert_eq!(k[0], SimdLevel::Scalar);
        assert!(k.iter().all(|&l| l <= detect()));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            k.contains(&SimdLevel::Avx2),
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        );
    }
}
