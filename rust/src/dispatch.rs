//! Which kernel runs a block of lanes: the block width and instruction set
//! (from the caller's [`Isa`]), the section count as a constant, and the
//! one-sweep path of [`crate::onepass`] or the two-pass kernel of
//! [`crate::kernel`] with the decimator of [`crate::decim`].

use crate::decim::{resample_block, DecimSink};
use crate::kernel::{
    filtfilt_block, Block, DirectSink, FilterSpec, LaneSource, RowWriter, MAX_SECTIONS,
};
use crate::polyphase::PolyPlan;
use crate::simd::{Isa, SimdLevel};
use crate::DspError;

/// What to do after filtering.
pub enum Stage<'p> {
    /// Write the filtered signal at the input rate.
    Direct,
    /// Resample with this plan.
    Resample(&'p PolyPlan),
}

macro_rules! filt_fn {
    ($name:ident, $w:expr, $fma:expr, $pair:expr $(, $feat:literal)?) => {
        $(#[target_feature(enable = $feat)])?
        unsafe fn $name<const NS: usize>(
            block: &Block<'_>,
            spec: &FilterSpec,
            stage: &Stage<'_>,
            writer: &mut dyn RowWriter,
        ) -> Result<(), DspError> {
            match stage {
                Stage::Direct => {
                    let mut sink = DirectSink::<$w> { writer };
                    filtfilt_block::<$w, NS, $fma, $pair, _>(block, spec, &mut sink)
                }
                Stage::Resample(plan) => {
                    let n = block.src.n_times();
                    // Without FMA the correction's rounding reaches 1e-10 of
                    // the RMS at 1000 Hz: the portable kernel keeps two passes.
                    if $fma && crate::onepass::applies(spec, plan, n) {
                        return crate::onepass::filtfilt_decimate::<$w, NS, $fma, $pair>(
                            block, spec, plan, writer,
                        );
                    }
                    let mut sink = DecimSink::<$w, $fma>::new(plan, n, writer);
                    filtfilt_block::<$w, NS, $fma, $pair, _>(block, spec, &mut sink)
                }
            }
        }
    };
}

macro_rules! res_fn {
    ($name:ident, $w:expr, $fma:expr $(, $feat:literal)?) => {
        $(#[target_feature(enable = $feat)])?
        unsafe fn $name(block: &Block<'_>, plan: &PolyPlan, writer: &mut dyn RowWriter) {
            resample_block::<$w, $fma>(block, plan, writer)
        }
    };
}

// AVX-512: blocks of 8, 16, 20 (the TCP montage: 2.5 registers, no idle lane)
// or 24 lanes; 32 vector registers hold the whole filter state.
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx512_8, 8, true, true, "avx512f,avx512vl,fma");
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx512_16, 16, true, true, "avx512f,avx512vl,fma");
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx512_20, 20, true, true, "avx512f,avx512vl,fma");
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx512_24, 24, true, true, "avx512f,avx512vl,fma");
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx2_8, 8, true, false, "avx2,fma");
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx2_12, 12, true, false, "avx2,fma");
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx2_16, 16, true, false, "avx2,fma");
#[cfg(target_arch = "x86_64")]
filt_fn!(filt_avx2_20, 20, true, false, "avx2,fma");
filt_fn!(filt_scalar, 4, false, false);
#[cfg(target_arch = "x86_64")]
res_fn!(res_avx512, 24, true, "avx512f,avx512vl,fma");
#[cfg(target_arch = "x86_64")]
res_fn!(res_avx2, 20, true, "avx2,fma");
res_fn!(res_scalar, 4, false);

/// Largest block (lanes) of the kernel `isa` selects.
pub fn block_width(isa: Isa) -> usize {
    match isa.level() {
        SimdLevel::Avx512 => 24,
        SimdLevel::Avx2 => 20,
        _ => 4,
    }
}

/// Lanes the kernel of `isa` computes for a block of `nl` lanes (the
/// register groups of [`run_filter_block`]'s choice; scalar blocks are 4).
pub fn kernel_width(isa: Isa, nl: usize) -> usize {
    match isa.level() {
        SimdLevel::Avx512 => match nl {
            0..=8 => 8,
            9..=16 => 16,
            17..=20 => 20,
            _ => 24,
        },
        SimdLevel::Avx2 => match nl {
            0..=8 => 8,
            9..=12 => 12,
            13..=16 => 16,
            _ => 20,
        },
        _ => 4,
    }
}

macro_rules! by_ns {
    ($f:ident, $ns:expr, $($a:expr),*) => {
        match $ns {
            1 => $f::<1>($($a),*),
            2 => $f::<2>($($a),*),
            3 => $f::<3>($($a),*),
            4 => $f::<4>($($a),*),
            5 => $f::<5>($($a),*),
            6 => $f::<6>($($a),*),
            7 => $f::<7>($($a),*),
            8 => $f::<8>($($a),*),
            _ => unreachable!("section count checked by the caller"),
        }
    };
}

/// Filter lanes `l0..l0+nl` of `src` (and resample them if asked) with the
/// kernel of `isa` (which the caller chose; nothing is detected here).
pub fn run_filter_block(
    isa: Isa,
    src: &dyn LaneSource,
    l0: usize,
    nl: usize,
    spec: &FilterSpec,
    stage: &Stage<'_>,
    writer: &mut dyn RowWriter,
) -> Result<(), DspError> {
    let ns = spec.sos.len();
    if ns == 0 || ns > MAX_SECTIONS {
        return Err(DspError::invalid(format!(
            "the engine handles 1 to {MAX_SECTIONS} second-order sections, got {ns}"
        )));
    }
    assert!(nl <= block_width(isa), "block wider than the kernel");
    let block = Block { isa, src, l0, nl };
    // SAFETY: each target_feature function is only called when `isa` (which
    // can only hold a level the CPU supports) includes the features it enables.
    unsafe {
        match isa.level() {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => match kernel_width(isa, nl) {
                8 => by_ns!(filt_avx512_8, ns, &block, spec, stage, writer),
                16 => by_ns!(filt_avx512_16, ns, &block, spec, stage, writer),
                20 => by_ns!(filt_avx512_20, ns, &block, spec, stage, writer),
                _ => by_ns!(filt_avx512_24, ns, &block, spec, stage, writer),
            },
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => match kernel_width(isa, nl) {
                8 => by_ns!(filt_avx2_8, ns, &block, spec, stage, writer),
                12 => by_ns!(filt_avx2_12, ns, &block, spec, stage, writer),
                16 => by_ns!(filt_avx2_16, ns, &block, spec, stage, writer),
                _ => by_ns!(filt_avx2_20, ns, &block, spec, stage, writer),
            },
            _ => by_ns!(filt_scalar, ns, &block, spec, stage, writer),
        }
    }
}

/// Resample lanes `l0..l0+nl` of `src` with the kernel of `isa`.
pub fn run_resample_block(
    isa: Isa,
    src: &dyn LaneSource,
    l0: usize,
    nl: usize,
    plan: &PolyPlan,
    writer: &mut dyn RowWriter,
) {
    assert!(nl <= block_width(isa), "block wider than the kernel");
    let block = Block { isa, src, l0, nl };
    // SAFETY: as in `run_filter_block`.
    unsafe {
        match isa.level() {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => res_avx512(&block, plan, writer),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => res_avx2(&block, plan, writer),
            _ => res_scalar(&block, plan, writer),
        }
    }
}
