//! Unit tests of the core crate against numbers computed with SciPy 1.17.1.
//! Each constant block names the command that produced it.

use elm_dsp::basis::{tcp_lanes, MontageBasis};
use elm_dsp::design::{
    bessel_i0, butter_bandpass_sos, firwin_kaiser, mne_ringing_samples, odd_padlen, sosfilt,
    sosfilt_zi,
};
use elm_dsp::engine::{
    basis_pays, filter_spec, run, run_montage, run_resample, FilterPad, Lane, MontageSource,
    Sample, MAX_DERIVED,
};
use elm_dsp::kernel::FilterSpec;
use elm_dsp::polyphase::{reflect_index, PolyPlan, ResamplePad};
use elm_dsp::simd::SimdLevel;
use elm_dsp::testdata::lcg;
use elm_dsp::DspError;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300) || (a - b).abs() < 1e-300
}

// python -c "from scipy import signal; print(signal.butter(4, [0.1, 49.0],
//   btype='bandpass', output='sos', fs=256.0).tolist())"
const SOS_4_01_49_256: [[f64; 6]; 4] = [
    [
        0.04027766166243047,
        0.08055532332486094,
        0.04027766166243047,
        1.0,
        -0.38972601865998785,
        0.07494189674142379,
    ],
    [1.0, 2.0, 1.0, 1.0, -0.5315329178246468, 0.4750526057780662],
    [1.0, -2.0, 1.0, 1.0, -1.9954576942871896, 0.9954637414405874],
    [1.0, -2.0, 1.0, 1.0, -1.9981219984859666, 0.998128023047111],
];
// python -c "from scipy import signal; print(signal.butter(3, [1.0, 40.0],
//   btype='bandpass', output='sos', fs=250.0).tolist())"
const SOS_3_1_40_250: [[f64; 6]; 3] = [
    [
        0.054462723971084016,
        0.10892544794216803,
        0.054462723971084016,
        1.0,
        -0.7735512818172456,
        0.42338462030982427,
    ],
    [1.0, 0.0, -1.0, 1.0, -1.286307270411458, 0.30420455805283164],
    [1.0, -2.0, 1.0, 1.0, -1.9751418818296762, 0.97577943594805],
];

#[test]
fn butter_matches_scipy_order4() {
    let sos = butter_bandpass_sos(4, 0.1, 49.0, 256.0).unwrap();
    assert_eq!(sos.len(), 4);
    for (s, r) in sos.iter().zip(SOS_4_01_49_256.iter()) {
        for (a, b) in s.iter().zip(r) {
            assert!(close(*a, *b, 1e-12), "{a} vs {b}");
        }
    }
}

#[test]
fn butter_matches_scipy_odd_order_real_poles() {
    // Odd order: the prototype's real pole gives two real band-pass poles,
    // exercising zpk2sos' real-pole pairing and a [1, 0, -1] numerator.
    let sos = butter_bandpass_sos(3, 1.0, 40.0, 250.0).unwrap();
    assert_eq!(sos.len(), 3);
    for (s, r) in sos.iter().zip(SOS_3_1_40_250.iter()) {
        for (a, b) in s.iter().zip(r) {
            assert!(close(*a, *b, 1e-12), "{a} vs {b}");
        }
    }
}

#[test]
fn butter_rejects_bad_bands() {
    assert!(butter_bandpass_sos(4, 49.0, 0.1, 256.0).is_err());
    assert!(butter_bandpass_sos(4, 0.1, 128.0, 256.0).is_err());
    assert!(butter_bandpass_sos(4, -1.0, 40.0, 256.0).is_err());
    assert!(butter_bandpass_sos(0, 1.0, 40.0, 256.0).is_err());
    assert!(butter_bandpass_sos(4, 1.0, f64::NAN, 256.0).is_err());
}

// python -c "from scipy import signal; s = signal.butter(4, [0.1, 49.0],
//   btype='bandpass', output='sos', fs=256.0); print(signal.sosfilt_zi(s).tolist())"
#[test]
fn zi_matches_scipy() {
    let want = [
        [0.19484626322504028, 0.02265702876207535],
        [0.7616710668417475, -0.23840613336002026],
        [-0.9967949917293984, 0.9967949917293976],
        [0.0, 0.0],
    ];
    let zi = sosfilt_zi(&SOS_4_01_49_256);
    for (z, w) in zi.iter().zip(want.iter()) {
        for (a, b) in z.iter().zip(w) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}

// python -c "import numpy as np; from scipy import signal; s = signal.butter(4,
//   [0.1, 49.0], btype='bandpass', output='sos', fs=256.0); x = np.zeros(8);
//   x[0] = 1; print(signal.sosfilt(s, x).tolist())"
#[test]
fn impulse_response_matches_scipy() {
    let want = [
        0.04027766166243047,
        0.19795820743468884,
        0.3922484942357147,
        0.3788115529078777,
        0.1315083144035663,
        -0.08857538424697088,
        -0.11401135131579919,
        -0.02595413844822981,
    ];
    let mut x = [0.0; 8];
    x[0] = 1.0;
    let mut zi = vec![[0.0; 2]; 4];
    sosfilt(&SOS_4_01_49_256, &mut x, &mut zi);
    for (a, b) in x.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
}

// python -c "from scipy import signal; print(signal.firwin(41, 1/2,
//   window=('kaiser', 5.0))[:21].tolist())"
#[test]
fn firwin_matches_scipy() {
    let want = [
        -7.158970950886459e-19,
        -0.0010514587726751215,
        1.8542998243319006e-18,
        0.0025089668121477146,
        -3.494145233950968e-18,
        -0.004894834339287572,
        5.60645116237481e-18,
        0.008556559002481406,
        -8.091013094452995e-18,
        -0.01398997323843515,
        1.0781132014374604e-17,
        0.022023120574074614,
        -1.3459677422897392e-17,
        -0.03434017988174492,
        1.5884600682954174e-17,
        0.05528828391185702,
        -1.78202070879486e-17,
        -0.10093019739773386,
        1.9069296838463637e-17,
        0.31670034568030075,
        0.5002587352980301,
    ];
    let h = firwin_kaiser(41, 0.5, 5.0);
    assert_eq!(h.len(), 41);
    for (a, b) in h.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
    // Symmetric and unit DC gain.
    for i in 0..20 {
        assert!((h[i] - h[40 - i]).abs() < 1e-17);
    }
    assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-14);
    // python -c "from scipy import signal; print(signal.firwin(21, 0.25,
    //   window=('kaiser', 5.0)).tolist()[8:13])"
    let h = firwin_kaiser(21, 0.25, 5.0);
    let want = [
        0.14571408009768874,
        0.22051515873308986,
        0.2504749560988805,
        0.22051515873308986,
        0.14571408009768874,
    ];
    for (a, b) in h[8..13].iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
}

#[test]
fn bessel_i0_known_values() {
    // scipy.special.i0(0), i0(1), i0(5)
    assert_eq!(bessel_i0(0.0), 1.0);
    assert!(close(bessel_i0(1.0), 1.2660658777520082, 1e-15));
    assert!(close(bessel_i0(5.0), 27.239871823604442, 1e-15));
}

#[test]
fn padlens() {
    assert_eq!(odd_padlen(&SOS_4_01_49_256), 27);
    // python -c "from mne.filter import estimate_ringing_samples as e; from scipy
    //   import signal; print(e(signal.butter(4, [0.1, 49], 'bandpass',
    //   output='sos', fs=256)))"  -> 1315
    assert_eq!(mne_ringing_samples(&SOS_4_01_49_256), 1315);
}

/// Straightforward scalar sosfiltfilt (SciPy's algorithm) as the oracle.
fn naive_filtfilt(sos: &[[f64; 6]], x: &[f64], pad: usize) -> Vec<f64> {
    let n = x.len();
    let mut ext = Vec::with_capacity(n + 2 * pad);
    for i in (1..=pad).rev() {
        ext.push(2.0 * x[0] - x[i]);
    }
    ext.extend_from_slice(x);
    for i in 0..pad {
        ext.push(2.0 * x[n - 1] - x[n - 2 - i]);
    }
    let zi = sosfilt_zi(sos);
    let mut z: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * ext[0], z[1] * ext[0]]).collect();
    sosfilt(sos, &mut ext, &mut z);
    ext.reverse();
    let mut z: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * ext[0], z[1] * ext[0]]).collect();
    sosfilt(sos, &mut ext, &mut z);
    ext.reverse();
    ext[pad..pad + n].to_vec()
}

#[test]
fn fused_filter_matches_naive_all_levels() {
    let n = 5003;
    let data = lcg(3 * n, 7);
    let sos = SOS_4_01_49_256.to_vec();
    let src = MontageSource::new(&data, 3, n, vec![Lane::Diff(0, 1), Lane::Chan(2)]).unwrap();
    let spec = filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap();
    let want0 = naive_filtfilt(
        &sos,
        &data[..n]
            .iter()
            .zip(&data[n..2 * n])
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>(),
        27,
    );
    let want1 = naive_filtfilt(&sos, &data[2 * n..], 27);
    for level in [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512] {
        let mut out = vec![0.0f64; 2 * n];
        run(&src, &spec, None, &mut out, 1, Some(level)).unwrap();
        let rms = (want1.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
        for (a, b) in out[..n]
            .iter()
            .zip(&want0)
            .chain(out[n..].iter().zip(&want1))
        {
            assert!((a - b).abs() < 1e-11 * rms, "{level:?}: {a} vs {b}");
        }
    }
}

#[test]
fn resample_constant_matches_direct_convolution() {
    // Direct evaluation of upfirdn + slicing for 2/5 on a short signal.
    let n = 101;
    let x = lcg(n, 3);
    let plan = PolyPlan::new(2, 5, ResamplePad::Constant).unwrap();
    let (up, down) = (2usize, 5usize);
    let half_len = 10 * 5;
    let mut h = firwin_kaiser(2 * half_len + 1, 1.0 / 5.0, 5.0);
    h.iter_mut().for_each(|v| *v *= up as f64);
    let n_pre_pad = down - half_len % down;
    let n_pre_remove = (half_len + n_pre_pad) / down;
    let n_out = (n * up).div_ceil(down);
    let src = MontageSource::identity(&x, 1, n).unwrap();
    let mut out = vec![0.0f64; n_out];
    run_resample(&src, &plan, &mut out, None).unwrap();
    for (k, got) in out.iter().enumerate() {
        let j = k + n_pre_remove;
        let mut acc = 0.0;
        for (i, hv) in h.iter().enumerate() {
            let m = (j * down) as isize - (i + n_pre_pad) as isize;
            if m >= 0 && (m as usize).is_multiple_of(up) && (m as usize / up) < n {
                acc += hv * x[m as usize / up];
            }
        }
        assert!((got - acc).abs() < 1e-13, "k={k}: {got} vs {acc}");
    }
}

#[test]
fn reflect_index_is_numpy_reflect() {
    // python -c "import numpy as np; print(np.pad(np.arange(4), 6, mode='reflect'))"
    //   -> [0 1 2 3 2 1 0 1 2 3 2 1 0 1 2 3]
    let want = [0, 1, 2, 3, 2, 1];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(reflect_index(i as isize - 6, 4), *w);
    }
    assert_eq!(reflect_index(4, 4), 2);
    assert_eq!(reflect_index(9, 4), 3);
    assert_eq!(reflect_index(-5, 1), 0);
}

#[test]
fn errors_are_reported() {
    let sos = SOS_4_01_49_256.to_vec();
    assert!(matches!(
        filter_spec(&sos, 27, FilterPad::Odd, None, None),
        Err(DspError::TooShort {
            n_times: 27,
            needed: 28
        })
    ));
    let mut data = lcg(2 * 200, 1);
    data[200 + 17] = f64::NAN;
    let src = MontageSource::identity(&data, 2, 200).unwrap();
    let spec = filter_spec(&sos, 200, FilterPad::Odd, None, None).unwrap();
    let mut out = vec![0.0f64; 400];
    let err = run(&src, &spec, None, &mut out, 1, None).unwrap_err();
    assert_eq!(
        err,
        DspError::NonFinite {
            channel: 1,
            sample: 17
        }
    );
    assert!(PolyPlan::new(0, 3, ResamplePad::Constant).is_err());
    assert!(MontageSource::new(&data, 2, 200, vec![Lane::Diff(0, 5)]).is_err());
}

#[test]
fn batch_equals_single_runs() {
    use elm_dsp::pipeline::{run_batch, Buffer, Plan, Samples};
    let n = 3000;
    let datas: Vec<Vec<f64>> = (0..3).map(|i| lcg(4 * (n + i * 7), i as u64)).collect();
    // The second recording as float32: a batch may mix precisions.
    let d32: Vec<f32> = datas[1].iter().map(|&v| v as f32).collect();
    let sos = SOS_4_01_49_256.to_vec();
    let lanes = vec![Lane::Diff(0, 1), Lane::Diff(2, 3), Lane::Chan(1)];
    let plan = Plan {
        lanes: Some(lanes.clone()),
        sos: Some(sos.clone()),
        pad: FilterPad::Odd,
        resampler: Some(PolyPlan::new(25, 64, ResamplePad::Constant).unwrap()),
        scale: Some(1e5),
        clip: Some(80.0),
        n_threads: 1,
    };
    let recs = vec![
        (Samples::F64(&datas[0]), 4, n),
        (Samples::F32(&d32), 4, n + 7),
        (Samples::F64(&datas[2]), 4, n + 14),
    ];
    let plans = vec![plan.clone(); 3];
    for threads in [1, 2] {
        let res = run_batch(&recs, &plans, true, threads);
        assert_eq!(res.len(), 3);
        for (i, r) in res.into_iter().enumerate() {
            let o = r.unwrap();
            let len = n + 7 * i;
            // The same recording alone, through the engine's own entry point.
            let mut single = vec![
                0.0f32;
                3 * PolyPlan::new(25, 64, ResamplePad::Constant)
                    .unwrap()
                    .n_out(len)
            ];
            let spec = filter_spec(&sos, len, FilterPad::Odd, Some(1e5), Some(80.0)).unwrap();
            let rp = plan.resampler.as_ref();
            if i == 1 {
                let src = MontageSource::new(&d32, 4, len, lanes.clone()).unwrap();
                run(&src, &spec, rp, &mut single, 1, None).unwrap();
            } else {
                let src = MontageSource::new(&datas[i], 4, len, lanes.clone()).unwrap();
                run(&src, &spec, rp, &mut single, 1, None).unwrap();
            }
            assert_eq!((o.rows, o.cols * 3), (3, single.len()));
            assert_eq!(o.data, Buffer::F32(single));
        }
    }
    // float64 outputs, and the plan run directly, give the same numbers.
    let res = run_batch(&recs[..1], &plans[..1], false, 2);
    let direct = plan.run::<f64, f64>(&datas[0], 4, n).unwrap();
    assert_eq!(res[0].as_ref().unwrap().data, Buffer::F64(direct.data));
    // Mismatched lengths and an empty plan are errors, not panics.
    let res = run_batch(&recs, &plans[..2], false, 1);
    assert!(res.iter().all(|r| r
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("3 recordings but 2 plans")));
    let empty = Plan {
        sos: None,
        resampler: None,
        ..plan.clone()
    };
    let e = empty.run::<f64, f64>(&datas[0], 4, n).unwrap_err();
    assert!(e.to_string().contains("nothing to do"), "{e}");
}

#[test]
fn plan_built_from_a_recipe_designs_the_filter_once() {
    use elm_dsp::pipeline::{Plan, Recipe};
    let recipe = Recipe {
        l_freq: 0.1,
        h_freq: 49.0,
        order: 4,
        scale: Some(1e5),
        clip: Some(80.0),
        pad: FilterPad::Odd,
        resample_pad: ResamplePad::Constant,
    };
    let lanes = Some(vec![Lane::Diff(0, 1), Lane::Chan(2)]);
    let plan = Plan::build(&recipe, 256.0, lanes.clone(), 25, 64, 1).unwrap();
    // The same numbers as SciPy's design (the sections the old binding took).
    let sos = plan.sos.as_ref().unwrap();
    for (got, want) in sos.iter().zip(SOS_4_01_49_256.iter()) {
        for (g, w) in got.iter().zip(want) {
            assert!(close(*g, *w, 1e-12), "{g} vs {w}");
        }
    }
    let r = plan.resampler.as_ref().unwrap();
    assert_eq!((r.up, r.down), (25, 64));
    let n = 3000;
    let data = lcg(3 * n, 7);
    let hand = Plan {
        lanes,
        sos: Some(SOS_4_01_49_256.to_vec()),
        pad: FilterPad::Odd,
        resampler: Some(PolyPlan::new(25, 64, ResamplePad::Constant).unwrap()),
        scale: Some(1e5),
        clip: Some(80.0),
        n_threads: 1,
    };
    let a = plan.run::<f64, f64>(&data, 3, n).unwrap();
    let b = hand.run::<f64, f64>(&data, 3, n).unwrap();
    assert_eq!((a.rows, a.cols), (b.rows, b.cols));
    let peak = b.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(a
        .data
        .iter()
        .zip(&b.data)
        .all(|(x, y)| (x - y).abs() <= 1e-9 * peak));
    // Equal factors keep the rate; the band is checked against this recording.
    let same = Plan::build(&recipe, 100.0, None, 2, 2, 1).unwrap();
    assert!(same.resampler.is_none());
    let e = Plan::build(&recipe, 90.0, None, 1, 1, 1).unwrap_err();
    assert!(e.to_string().contains("Nyquist"), "{e}");
    for (order, up, down, what) in [
        (0, 1, 1, "order must be 1 to 8"),
        (9, 1, 1, "order must be 1 to 8"),
        (4, 0, 2, "up and down must be positive"),
    ] {
        let rec = Recipe {
            order,
            ..recipe.clone()
        };
        let e = Plan::build(&rec, 256.0, None, up, down, 1).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
    }
    let bad_clip = Recipe {
        clip: Some(-3.0),
        ..recipe.clone()
    };
    let e = Plan::build(&bad_clip, 256.0, None, 1, 1, 1).unwrap_err();
    assert!(e.to_string().contains("clip must be positive"), "{e}");
}

#[test]
fn all_simd_levels_agree_on_the_fused_path() {
    // Whatever the CPU, every level's kernel must give the same numbers
    // (levels the CPU lacks fall back to the portable path).
    let n = 4099;
    let data = lcg(21 * n, 11);
    let lanes: Vec<Lane> = (0..20).map(|i| Lane::Diff(i, i + 1)).collect();
    let src = MontageSource::new(&data, 21, n, lanes).unwrap();
    let sos = SOS_4_01_49_256.to_vec();
    let spec = filter_spec(&sos, n, FilterPad::Mne, Some(2.0), Some(0.3)).unwrap();
    for pad in [ResamplePad::Constant, ResamplePad::Reflect] {
        let plan = PolyPlan::new(25, 64, pad).unwrap();
        let mut outs = Vec::new();
        for level in [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512] {
            let mut out = vec![0.0f64; 20 * plan.n_out(n)];
            run(&src, &spec, Some(&plan), &mut out, 1, Some(level)).unwrap();
            let mut res = vec![0.0f64; 20 * plan.n_out(n)];
            run_resample(&src, &plan, &mut res, Some(level)).unwrap();
            outs.push((out, res));
        }
        // FMA and plain multiply-add round differently; the 0.1 Hz poles
        // amplify that to ~1e-12 of these O(1) signals.
        for (o, r) in &outs[1..] {
            for (a, b) in o.iter().zip(&outs[0].0).chain(r.iter().zip(&outs[0].1)) {
                assert!((a - b).abs() < 1e-10, "{a} vs {b}");
            }
        }
    }
}

#[test]
fn one_sweep_equals_two_pass() {
    // The one-sweep path (superposition) against the two-pass kernel, which
    // the Python tests hold to SciPy: long recordings at several rates, a
    // block of 20 lanes and one of 3, a scale, every SIMD level.
    for &(fs, up, down, secs) in &[
        (256.0, 25, 64, 70),
        (250.0, 2, 5, 45),
        (512.0, 25, 128, 40),
        (1000.0, 1, 10, 33),
        (128.0, 25, 32, 90),
    ] {
        let n = (fs * secs as f64) as usize + 3;
        let data = lcg(21 * n, 5);
        let sos = butter_bandpass_sos(4, 0.1, 49.0, fs).unwrap();
        let plan = PolyPlan::new(up, down, ResamplePad::Constant).unwrap();
        for lanes in [
            (0..20).map(|i| Lane::Diff(i, i + 1)).collect::<Vec<_>>(),
            vec![Lane::Diff(3, 7), Lane::Chan(2), Lane::Diff(20, 0)],
        ] {
            let nl = lanes.len();
            let src = MontageSource::new(&data, 21, n, lanes).unwrap();
            let mut one = filter_spec(&sos, n, FilterPad::Odd, Some(1e5), None).unwrap();
            assert!(elm_dsp::onepass::applies(&one, &plan, n), "{fs} Hz");
            let mut two = one.clone();
            two.onepass = false;
            assert!(!elm_dsp::onepass::applies(&two, &plan, n));
            for level in [SimdLevel::Avx512, SimdLevel::Avx2, SimdLevel::Scalar] {
                let mut a = vec![0.0f64; nl * plan.n_out(n)];
                let mut b = a.clone();
                run(&src, &one, Some(&plan), &mut a, 1, Some(level)).unwrap();
                run(&src, &two, Some(&plan), &mut b, 1, Some(level)).unwrap();
                let rms = (b.iter().map(|v| v * v).sum::<f64>() / b.len() as f64).sqrt();
                let err = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max);
                // Both agree with SciPy to ~2e-11 of the RMS at 512 Hz (the
                // 0.1 Hz poles amplify rounding); the bound is 1e-10.
                assert!(
                    err <= 1e-10 * rms,
                    "{fs} Hz, {nl} lanes, {level:?}: {err:e} x rms"
                );
            }
            one.onepass = true;
        }
    }
}

#[test]
fn one_sweep_reports_nonfinite_input() {
    let n = 256 * 40;
    let mut data = lcg(3 * n, 9);
    data[n + 7777] = f64::NAN;
    let sos = butter_bandpass_sos(4, 0.1, 49.0, 256.0).unwrap();
    let plan = PolyPlan::new(25, 64, ResamplePad::Constant).unwrap();
    let src = MontageSource::new(&data, 3, n, vec![Lane::Diff(0, 1), Lane::Chan(2)]).unwrap();
    let spec = filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap();
    assert!(elm_dsp::onepass::applies(&spec, &plan, n));
    let mut out = vec![0.0f64; 2 * plan.n_out(n)];
    let err = run(&src, &spec, Some(&plan), &mut out, 1, None).unwrap_err();
    assert_eq!(
        err,
        DspError::NonFinite {
            channel: 1,
            sample: 7777
        }
    );
}

#[test]
fn impossible_sizes_are_errors_not_aborts() {
    // 2^61 f64 values: beyond the address space, refused before allocating.
    let e = elm_dsp::try_vec(1usize << 61, 0.0f64, "a test buffer").unwrap_err();
    assert!(matches!(e, DspError::OutOfMemory { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("a test buffer") && msg.contains("EB"), "{msg}");
    let v = elm_dsp::try_vec(5, 1.5f32, "small").unwrap();
    assert_eq!(v, vec![1.5f32; 5]);
    assert_eq!(elm_dsp::human_bytes(999), "999 bytes");
    assert_eq!(elm_dsp::human_bytes(80_000_000_000), "80.0 GB");
}

#[test]
fn absurd_bands_are_refused() {
    let n = 4096;
    // A cut-off of 1e-9 Hz and a 1e-7 Hz wide band: the filter would never
    // settle (zeros or overflow instead of a filtered signal).
    for (l, h) in [(1e-9, 49.0), (10.0, 10.000_000_1)] {
        let sos = butter_bandpass_sos(4, l, h, 256.0).unwrap();
        let e = filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("never settles") || msg.contains("unstable"),
            "{l}-{h} Hz: {msg}"
        );
    }
    // An unstable section (pole outside the unit circle).
    let bad = [[1.0, 0.0, 0.0, 1.0, 0.0, 1.5]];
    let msg = filter_spec(&bad, n, FilterPad::Odd, None, None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("unstable"), "{msg}");
    // The usual bands pass, including 0.1 Hz at 5 kHz.
    for fs in [128.0, 256.0, 5000.0] {
        let sos = butter_bandpass_sos(4, 0.1, 49.0, fs).unwrap();
        filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap();
    }
}

#[test]
fn threads_are_capped_and_float32_overflow_is_an_error() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(elm_dsp::engine::cap_threads(0), 1);
    assert_eq!(elm_dsp::engine::cap_threads(usize::MAX), cores);
    let n = 3000;
    let data: Vec<f64> = lcg(4 * n, 3).iter().map(|v| v * 1e40).collect();
    let src = MontageSource::identity(&data, 4, n).unwrap();
    let sos = SOS_4_01_49_256.to_vec();
    let spec = filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap();
    // A million threads requested: capped, same result as one.
    let mut a = vec![0.0f64; 4 * n];
    let mut b = a.clone();
    run(&src, &spec, None, &mut a, 1, None).unwrap();
    run(&src, &spec, None, &mut b, 1_000_000, None).unwrap();
    assert_eq!(a, b);
    assert!(a.iter().all(|v| v.is_finite()));
    let mut c = vec![0.0f32; 4 * n];
    let msg = run(&src, &spec, None, &mut c, 1, None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("float32"), "{msg}");
}

/// [`run_montage`] of `lanes` (through `basis` where it pays) on `n_ch` rows
/// of `data` into a new output.
#[allow(clippy::too_many_arguments)]
fn via_basis<U: Sample>(
    data: &[f64],
    n_ch: usize,
    lanes: &[Lane],
    basis: &MontageBasis,
    spec: &FilterSpec,
    plan: Option<&PolyPlan>,
    n_threads: usize,
    level: Option<SimdLevel>,
) -> Result<Vec<U>, DspError> {
    let n = data.len() / n_ch;
    let n_out = plan.map_or(n, |p| p.n_out(n));
    let mut out = vec![U::from_f64(0.0); lanes.len() * n_out];
    let src = MontageSource::new(data, n_ch, n, lanes.to_vec())?;
    run_montage(&src, Some(basis), spec, plan, &mut out, n_threads, level)?;
    Ok(out)
}

/// The TCP montage through its 16-lane basis equals every channel filtered:
/// the kept channels bit for bit (SIMD lanes are independent), the derived
/// ones (sums of 4 filtered channels) within 1e-12 of the input's peak (the
/// rounding of each filtered channel scales with its input, offsets
/// included, and the sums add four of them), at every level, with and
/// without resampling and scaling, in float64 and float32.
#[test]
fn montage_basis_equals_every_channel_filtered() {
    let tcp = tcp_lanes();
    let basis = MontageBasis::new(&tcp).unwrap();
    let n = 256 * 61 + 13;
    // 17 electrodes with offsets, as referential EEG has.
    let mut data = lcg(17 * n, 21);
    for (c, row) in data.chunks_mut(n).enumerate() {
        row.iter_mut().for_each(|v| *v += 3.0 * c as f64 - 20.0);
    }
    let src = MontageSource::new(&data, 17, n, tcp.clone()).unwrap();
    let sos = butter_bandpass_sos(4, 0.1, 49.0, 256.0).unwrap();
    let resampler = PolyPlan::new(25, 64, ResamplePad::Constant).unwrap();
    let kept: Vec<usize> = basis.rows.clone();
    for level in elm_dsp::simd::kernel_levels() {
        for plan in [Some(&resampler), None] {
            for scale in [None, Some(1e5)] {
                let spec = filter_spec(&sos, n, FilterPad::Odd, scale, None).unwrap();
                assert_eq!(
                    basis_pays(&basis, 20, &spec, Some(level)),
                    level != SimdLevel::Scalar,
                    "{level:?}"
                );
                let n_out = plan.map_or(n, |p| p.n_out(n));
                let mut full = vec![0.0f64; 20 * n_out];
                run(&src, &spec, plan, &mut full, 1, Some(level)).unwrap();
                let via: Vec<f64> =
                    via_basis(&data, 17, &tcp, &basis, &spec, plan, 1, Some(level)).unwrap();
                let rms = (full.iter().map(|v| v * v).sum::<f64>() / full.len() as f64).sqrt();
                let peak = data.iter().fold(0.0f64, |m, v| m.max(v.abs())) * scale.unwrap_or(1.0);
                for (r, (a, b)) in full.chunks(n_out).zip(via.chunks(n_out)).enumerate() {
                    if kept.contains(&r) {
                        assert!(a == b, "{level:?}: kept row {r} differs");
                    } else {
                        let e = a
                            .iter()
                            .zip(b)
                            .map(|(x, y)| (x - y).abs())
                            .fold(0.0, f64::max);
                        assert!(e <= 1e-12 * peak, "{level:?}: row {r}: {e:e} of {peak:e}");
                    }
                }
                let via32: Vec<f32> =
                    via_basis(&data, 17, &tcp, &basis, &spec, plan, 1, Some(level)).unwrap();
                for (a, b) in full.iter().zip(&via32) {
                    assert!((a - *b as f64).abs() <= 1e-6 * rms);
                }
            }
        }
    }
}

/// With clipping the basis does not pay and the result is the full
/// montage's, bit for bit; the thread count changes nothing (the basis runs
/// as one block); bad input is reported as the full montage reports it.
#[test]
fn montage_basis_falls_back_and_reports_like_the_full_montage() {
    let tcp = tcp_lanes();
    let basis = MontageBasis::new(&tcp).unwrap();
    let n = 256 * 30;
    let mut data = lcg(17 * n, 8);
    let src = MontageSource::new(&data, 17, n, tcp.clone()).unwrap();
    let sos = butter_bandpass_sos(4, 0.1, 49.0, 256.0).unwrap();
    let plan = PolyPlan::new(25, 64, ResamplePad::Constant).unwrap();
    let n_out = plan.n_out(n);
    let clipped = filter_spec(&sos, n, FilterPad::Odd, Some(2.0), Some(0.3)).unwrap();
    let plain = filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap();
    assert!(!basis_pays(&basis, 20, &clipped, None));
    let mut full = vec![0.0f64; 20 * n_out];
    run(&src, &clipped, Some(&plan), &mut full, 1, None).unwrap();
    let via: Vec<f64> = via_basis(&data, 17, &tcp, &basis, &clipped, Some(&plan), 1, None).unwrap();
    assert!(full == via);
    let one: Vec<f64> = via_basis(&data, 17, &tcp, &basis, &plain, Some(&plan), 1, None).unwrap();
    let two: Vec<f64> = via_basis(&data, 17, &tcp, &basis, &plain, Some(&plan), 2, None).unwrap();
    assert!(one == two);
    // NaN in F3 (row 13 of the first-use order: read by a kept and a
    // derived channel), then also Inf earlier in T5 (row 3, kept channels
    // only): reported as without the basis, the earliest at every level.
    for (row, t, v) in [(13, 900, f64::NAN), (3, 500, f64::INFINITY)] {
        data[row * n + t] = v;
        let src = MontageSource::new(&data, 17, n, tcp.clone()).unwrap();
        let mut out = vec![0.0f64; 20 * n_out];
        let want = run(&src, &plain, Some(&plan), &mut out, 1, None).unwrap_err();
        let got =
            via_basis::<f64>(&data, 17, &tcp, &basis, &plain, Some(&plan), 1, None).unwrap_err();
        assert_eq!(got, want);
        // The earliest bad sample is named, whatever the level's blocks.
        assert_eq!(
            got,
            DspError::NonFinite {
                channel: row,
                sample: t
            }
        );
        for level in elm_dsp::simd::kernel_levels() {
            let e = run(&src, &plain, Some(&plan), &mut out, 2, Some(level)).unwrap_err();
            assert_eq!(e, got, "{level:?}");
        }
    }
}

/// Montages with many derived rows (a pair repeated 37 times, a complete
/// graph on 10 electrodes) filter every channel instead of overflowing the
/// row writer, and give the full montage's result at every level.
#[test]
fn montage_basis_with_many_derived_rows_keeps_the_full_montage() {
    let n = 256 * 20;
    let data = lcg(10 * n, 12);
    let sos = butter_bandpass_sos(4, 0.1, 49.0, 256.0).unwrap();
    let plan = PolyPlan::new(25, 64, ResamplePad::Constant).unwrap();
    let spec = filter_spec(&sos, n, FilterPad::Odd, None, None).unwrap();
    let complete: Vec<Lane> = (0..10)
        .flat_map(|a| (a + 1..10).map(move |b| Lane::Diff(a, b)))
        .collect();
    for (montage, derived) in [(vec![Lane::Diff(0, 1); 37], 36), (complete, 36)] {
        let basis = MontageBasis::new(&montage).unwrap();
        assert_eq!(basis.derived.len(), derived);
        assert!(derived > MAX_DERIVED);
        let src = MontageSource::new(&data, 10, n, montage.clone()).unwrap();
        for level in elm_dsp::simd::kernel_levels() {
            assert!(!basis_pays(&basis, montage.len(), &spec, Some(level)));
            let n_out = montage.len() * plan.n_out(n);
            let mut full = vec![0.0f64; n_out];
            run(&src, &spec, Some(&plan), &mut full, 1, Some(level)).unwrap();
            let via: Vec<f64> = via_basis(
                &data,
                10,
                &montage,
                &basis,
                &spec,
                Some(&plan),
                1,
                Some(level),
            )
            .unwrap();
            assert!(full == via, "{level:?}");
        }
    }
}
