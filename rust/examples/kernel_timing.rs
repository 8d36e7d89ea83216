//! Times the kernels on one synthetic 60-minute, 21-electrode, 256 Hz recording.
//! Run with `cargo run --release -p elm-dsp --example kernel_timing`;
//! `FUSED_ONLY=1` times the fused path on the 20-channel TCP montage
//! (`BASIS=0`: every channel filtered, no [`MontageBasis`]).

use elm_dsp::basis::MontageBasis;
use elm_dsp::design::butter_bandpass_sos;
use elm_dsp::engine::{
    filter_spec, run, run_montage, run_resample, FilterPad, Lane, MontageSource,
};
use elm_dsp::polyphase::{PolyPlan, ResamplePad};

/// CPU time of this thread: the machine is shared, wall time is not meaningful.
fn cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

struct Instant(f64);
impl Instant {
    fn now() -> Self {
        Instant(cpu())
    }
    fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(cpu() - self.0)
    }
}

fn main() {
    let secs: usize = std::env::var("SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3600);
    let (n_ch, n) = (21usize, 256 * secs);
    let data = elm_dsp::testdata::lcg(n_ch * n, 1);
    let lanes: Vec<Lane> = (0..20).map(|i| Lane::Diff(i, i + 1)).collect();
    let src = MontageSource::new(&data, n_ch, n, lanes).unwrap();
    let sos = butter_bandpass_sos(4, 0.1, 49.0, 256.0).unwrap();
    let spec = filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap();
    let plan = PolyPlan::new(25, 64, ResamplePad::Constant).unwrap();
    if std::env::var("RESAMPLE_ONLY").is_ok() {
        let mut out = vec![0.0f64; 20 * plan.n_out(n)];
        for _ in 0..5 {
            let t = Instant::now();
            run_resample(&src, &plan, &mut out, None).unwrap();
            println!("resample {:.3} s", t.elapsed().as_secs_f64());
        }
        return;
    }
    if std::env::var("FUSED_ONLY").is_ok() {
        // TCP over the first 17 of the 21 rows (the other 4 are not read,
        // as A1, A2, FZ and PZ in the benchmark).
        let tcp = elm_dsp::basis::tcp_lanes();
        let tcp_src = MontageSource::new(&data, n_ch, n, tcp.clone()).unwrap();
        let basis = match std::env::var("BASIS").as_deref() {
            Ok("0") => None,
            _ => MontageBasis::new(&tcp),
        };
        let mut out = vec![0.0f64; 20 * plan.n_out(n)];
        let mut best = f64::INFINITY;
        let reps: usize = std::env::var("REPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(12);
        for _ in 0..reps {
            let t = Instant::now();
            run_montage(
                &tcp_src,
                basis.as_ref(),
                &spec,
                Some(&plan),
                &mut out,
                1,
                None,
            )
            .unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "fused best of {reps}: {best:.4} s -> {:.1} rec-h/s",
            n as f64 / 256.0 / 3600.0 / best
        );
        return;
    }
    // Only the levels this CPU runs (a request above it would fall back).
    for level in elm_dsp::simd::kernel_levels().into_iter().rev() {
        let mut out = vec![0.0f64; 20 * n];
        let t = Instant::now();
        run(&src, &spec, None, &mut out, 1, Some(level)).unwrap();
        let tf = t.elapsed().as_secs_f64();
        let mut out = vec![0.0f64; 20 * plan.n_out(n)];
        let t = Instant::now();
        run_resample(&src, &plan, &mut out, Some(level)).unwrap();
        let tr = t.elapsed().as_secs_f64();
        let t = Instant::now();
        run(&src, &spec, Some(&plan), &mut out, 1, Some(level)).unwrap();
        let tp = t.elapsed().as_secs_f64();
        println!(
            "{:>7}: filtfilt {:.3} s, resample {:.3} s, fused {:.3} s -> {:.1} rec-h/s",
            level.name(),
            tf,
            tr,
            tp,
            1.0 / tp
        );
    }
}
