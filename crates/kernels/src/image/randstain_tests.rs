//! Stain randomization: the f32 L*a*b* path against the f64 one, the drawn
//! targets (keys, distribution, probability), the pipeline, validation and
//! thread independence.

use super::augment::{draw, rand_stain_draw, stain_draw};
use super::normalize::lab::Lab;
use super::normalize::reinhard;
use super::randstain::{apply, cbrt_pos, FastLab, RandStainConfig, StainTarget, ENCODE_BINS};
use super::*;
use crate::rng::CounterRng;
use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

/// H&E-like pixels: pink-purple around `base`, spread by one random shade per pixel and some noise.
fn tissue(pixels: usize, base: [f64; 3], seed: u64) -> Vec<u8> {
    let mut rng = TestRng::new(seed);
    (0..pixels)
        .flat_map(|_| {
            let t = rng.uniform() as f64 * 60.0;
            let noise: [f64; 3] = [0, 1, 2].map(|_| rng.uniform() as f64 * 6.0);
            [0, 1, 2].map(|k| (base[k] + t * [1.0, 1.3, 0.6][k] + noise[k]).round().clamp(0.0, 255.0) as u8)
        })
        .collect()
}

fn distribution() -> RandStainConfig {
    // Roughly the shared BreakHis tiles' spread of per-image statistics.
    RandStainConfig { mean_avg: [62.0, 22.0, -12.0], mean_std: [8.0, 6.0, 4.0], std_avg: [14.0, 7.0, 5.0], std_std: [3.0, 2.0, 1.5], probability: 1.0 }
}

/// The f64 reference of `apply`: `normalize::reinhard` (f64 `cbrt`, `powf`, `round`) towards the target.
fn reference_apply(target: &StainTarget, img: &[u8]) -> Vec<u8> {
    let [m, s] = [target.mean, target.std].map(|v| v.map(|x| x as f64));
    let mut out = img.to_vec();
    reinhard::apply(&[m[0], m[1], m[2], s[0], s[1], s[2], 0.0, 0.0], &mut out);
    out
}

crate::kernel_tests! {
    fn cube_root_within_a_few_ulp_over_the_lab_range() {
        // f(t)'s cube-root branch sees t = XYZ / white in (δ³, ~1.1]; check far beyond it too.
        let mut worst = 0.0f64;
        for i in 0..=20_000 {
            let x = (1e-4f64 * (2e4f64).powf(i as f64 / 20_000.0)) as f32;
            let got = cbrt_pos(x) as f64;
            let want = (x as f64).cbrt();
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 4.0 * f32::EPSILON as f64, "worst relative error {worst:e}");
        assert_eq!(cbrt_pos(1.0), 1.0);
        assert_eq!(cbrt_pos(8.0), 2.0);
    }

    fn encode_counts_the_steps_at_or_below_its_input() {
        let fast = FastLab::new();
        let steps = fast.steps();
        // Each bin holds at most one step.
        let closest = steps.windows(2).map(|w| w[1] - w[0]).fold(f32::INFINITY, f32::min);
        assert!(closest > 1.0 / ENCODE_BINS as f32, "closest steps {closest:e} apart");
        let count = |l: f32| steps.iter().filter(|&&t| t <= l).count();
        // Every step, its neighbours in f32, bin edges, out-of-range values and a dense sweep.
        let mut inputs = vec![-1.0f32, -0.0, 0.0, 1.0, 1.5, f32::INFINITY];
        for &t in steps {
            inputs.extend([t, f32::from_bits(t.to_bits() - 1), f32::from_bits(t.to_bits() + 1)]);
        }
        inputs.extend((0..=ENCODE_BINS).flat_map(|i| {
            let e = i as f32 / ENCODE_BINS as f32;
            [e, f32::from_bits(e.to_bits().saturating_sub(1)), f32::from_bits(e.to_bits() + 1)]
        }));
        inputs.extend((0..100_000).map(|i| i as f32 / 99_999.0));
        for l in inputs {
            assert_eq!(fast.encode(l) as usize, count(l), "linear {l:e}");
        }
        assert_eq!(fast.encode(f32::NAN), 0);
    }

    fn fast_lab_matches_f64_lab_and_encodes_like_its_rounding() {
        let (fast, exact) = (FastLab::new(), Lab::new());
        let mut rng = TestRng::new(5);
        for i in 0..20_000 {
            let px: [u8; 3] = if i < 256 { [i as u8, (255 - i) as u8, (i * 7 % 256) as u8] } else { [0, 1, 2].map(|_| (rng.next_u64() >> 56) as u8) };
            let (f, e) = (fast.from_rgb(&px), exact.from_rgb(&px));
            for ch in 0..3 {
                assert!((f[ch] as f64 - e[ch]).abs() < 2e-4, "pixel {px:?}: fast {f:?}, f64 {e:?}");
            }
            // Back from the f64 L*a*b*: the same bytes, except where the f32 value sits on a rounding step.
            let (mut a, mut b) = ([0u8; 3], [0u8; 3]);
            fast.to_rgb(e.map(|v| v as f32), &mut a);
            exact.to_rgb(e, &mut b);
            assert_eq!(a, px, "fast round trip of {px:?}");
            assert_eq!(b, px, "f64 round trip of {px:?}");
        }
        // Whole images: the four-pixel path (SIMD128 in wasm) gives the per-pixel bits, tail included.
        for pixels in [1usize, 4, 7, 37] {
            let img = tissue(pixels, [150.0, 70.0, 160.0], pixels as u64);
            let mut got = vec![f32::NAN; img.len()];
            fast.convert(&img, &mut got);
            let want: Vec<f32> = img.chunks_exact(3).flat_map(|px| fast.from_rgb(px)).collect();
            assert_bits_eq(&got, &want, &format!("convert of {pixels} pixels"));
        }
        // Out of gamut clamps like the f64 path.
        let (mut a, mut b) = ([0u8; 3], [0u8; 3]);
        for lab in [[120.0f32, 0.0, 0.0], [-5.0, 0.0, 0.0], [50.0, 150.0, -150.0], [50.0, -128.0, 127.0]] {
            fast.to_rgb(lab, &mut a);
            exact.to_rgb(lab.map(|v| v as f64), &mut b);
            assert_eq!(a, b, "L*a*b* {lab:?}");
        }
    }

    fn apply_matches_the_f64_reinhard_and_reaches_the_target() {
        let (h, w) = (40usize, 36usize);
        let lab = FastLab::new();
        let mut off_by_one = 0usize;
        for (seed, base, target) in [
            (1u64, [170.0, 90.0, 150.0], StainTarget { mean: [55.0, 30.0, -15.0], std: [12.0, 8.0, 6.0] }),
            (2, [120.0, 60.0, 140.0], StainTarget { mean: [70.0, 12.0, -6.0], std: [16.0, 5.0, 4.0] }),
            (3, [200.0, 160.0, 190.0], StainTarget { mean: [48.0, 28.0, -20.0], std: [9.0, 9.0, 7.0] }),
        ] {
            let img = tissue(h * w, base, seed);
            let want = reference_apply(&target, &img);
            let mut got = img.clone();
            apply(&lab, &target, &mut got);
            for (i, (&g, &r)) in got.iter().zip(&want).enumerate() {
                assert!((g as i32 - r as i32).abs() <= 1, "seed {seed} byte {i}: f32 {g}, f64 {r}");
                off_by_one += usize::from(g != r);
            }
            // The result has the target's statistics, up to 8-bit rounding and gamut clamping.
            let (mean, std) = lab.stats(&got);
            for ch in 0..3 {
                assert!((mean[ch] - target.mean[ch]).abs() < 0.6, "seed {seed} channel {ch}: mean {mean:?}, target {target:?}");
                assert!((std[ch] - target.std[ch]).abs() < 0.05 * target.std[ch] + 0.3, "seed {seed} channel {ch}: std {std:?}, target {target:?}");
            }
        }
        // Off by one only where an f32 value lands on a rounding step: rare.
        assert!(off_by_one * 1000 < 3 * h * w * 3, "{off_by_one} bytes differ by one");
        // Towards its own statistics an image is unchanged; a flat one is only shifted.
        let img = tissue(h * w, [150.0, 80.0, 140.0], 9);
        let (mean, std) = lab.stats(&img);
        let mut same = img.clone();
        apply(&lab, &StainTarget { mean, std }, &mut same);
        let moved = same.iter().zip(&img).filter(|(a, b)| a != b).count();
        assert!(moved * 1000 < img.len(), "self-transfer moved {moved} bytes");
        let mut flat = vec![150u8; 3 * 16];
        apply(&lab, &StainTarget { mean: [60.0, 10.0, -5.0], std: [10.0, 5.0, 5.0] }, &mut flat);
        let (m, s) = lab.stats(&flat);
        assert!((m[0] - 60.0).abs() < 0.6 && s.iter().all(|&v| v < 0.5), "flat: mean {m:?} std {s:?}");
    }

    fn draws_follow_the_distribution_keys_and_probability() {
        let dist = distribution();
        let cfg = AugmentConfig { rotation: 10.0, hflip: true, brightness: 0.1, stain_scale: 0.1, rand_stain: dist, ..AugmentConfig::IDENTITY };
        let rng = CounterRng::new(11, 4);
        let n = 4000u32;
        let (mut sum, mut sq) = ([0.0f64; 6], [0.0f64; 6]);
        for id in 0..n {
            let p = draw_params(&cfg, 16, 16, &rng, id);
            let t = p.rand_stain.expect("probability 1 always draws");
            let z = rng.normal_f32(rand_stain_draw(id, 1));
            assert_eq!(t.mean[1], dist.mean_avg[1] + dist.mean_std[1] * z, "id {id}: a* mean is draw 1");
            for (k, v) in t.mean.iter().chain(&t.std).enumerate() {
                sum[k] += *v as f64;
                sq[k] += (*v as f64).powi(2);
            }
            // Its range is disjoint from every other draw of every image.
            assert!(rand_stain_draw(0, 0) > stain_draw(u32::MAX, 7) && stain_draw(0, 0) > u32::MAX as u64 * DRAWS_PER_SAMPLE + draw::JITTER_ORDER);
            // Enabling it changes no other parameter.
            let plain = draw_params(&AugmentConfig { rand_stain: RandStainConfig::OFF, ..cfg }, 16, 16, &rng, id);
            assert_eq!((plain.affine, plain.jitter, plain.stain, plain.rand_stain), (p.affine, p.jitter, p.stain, None), "id {id}");
        }
        let want = dist.mean_avg.iter().chain(&dist.std_avg).zip(dist.mean_std.iter().chain(&dist.std_std));
        for (k, (&avg, &spread)) in want.enumerate() {
            let mean = sum[k] / n as f64;
            let std = (sq[k] / n as f64 - mean * mean).sqrt();
            // 4000 draws: the sample mean within 4 standard errors, the spread within 8%.
            assert!((mean - avg as f64).abs() < 4.0 * spread as f64 / (n as f64).sqrt(), "statistic {k}: mean {mean}, want {avg}");
            assert!((std / spread as f64 - 1.0).abs() < 0.08, "statistic {k}: spread {std}, want {spread}");
        }
        // Probability 0.3: about 30% of the images, the same ones for any other setting.
        let third = AugmentConfig { rand_stain: RandStainConfig { probability: 0.3, ..dist }, ..cfg };
        let drawn: Vec<u32> = (0..n).filter(|&id| draw_params(&third, 16, 16, &rng, id).rand_stain.is_some()).collect();
        let frac = drawn.len() as f64 / n as f64;
        assert!((frac - 0.3).abs() < 0.03, "applied to {frac} of the images");
        assert!(drawn.iter().all(|&id| rng.uniform_f32(rand_stain_draw(id, 6)) < 0.3));
        // A spread of 0 draws the averages exactly; negative deviations are clamped to 0.
        let fixed = RandStainConfig { mean_std: [0.0; 3], std_std: [0.0; 3], ..dist };
        let t = draw_params(&AugmentConfig { rand_stain: fixed, ..cfg }, 16, 16, &rng, 5).rand_stain.unwrap();
        assert_eq!((t.mean, t.std), (dist.mean_avg, dist.std_avg));
        let wide = RandStainConfig { std_avg: [0.0; 3], std_std: [100.0; 3], ..dist };
        assert!((0..200).all(|id| draw_params(&AugmentConfig { rand_stain: wide, ..cfg }, 16, 16, &rng, id).rand_stain.unwrap().std.iter().all(|&s| s >= 0.0)));
        assert_ne!(draw_params(&cfg, 16, 16, &rng, 3).rand_stain, draw_params(&cfg, 16, 16, &CounterRng::new(11, 5), 3).rand_stain, "epochs differ");
    }

    fn pipeline_randomizes_before_the_warp_and_skips_grey_images() {
        let (n, h, w) = (3usize, 12usize, 10usize);
        let cfg = AugmentConfig { rotation: 25.0, vflip: true, fill_mode: FillMode::Constant, fill_value: 255.0, rand_stain: distribution(), ..AugmentConfig::IDENTITY };
        let s = TransformSpec { geom: ImageGeom::new(n, h, w, 3).unwrap(), seed: 77, epoch: 2, augment: Some(cfg), preprocess: Preprocess::MinMax };
        let plane = h * w * 3;
        let src: Vec<u8> = (0..n as u64).flat_map(|i| tissue(h * w, [160.0, 90.0, 150.0], 40 + i)).collect();
        let ids = [9u32, 0, 31];
        let mut out = nan_filled(s.geom.len());
        transform_images(&s, &src, &ids, &mut out);
        let rng = CounterRng::new(s.seed, s.epoch as u64);
        for i in 0..n {
            let p = draw_params(&cfg, h, w, &rng, ids[i]);
            let mut recoloured = src[i * plane..(i + 1) * plane].to_vec();
            apply(&FastLab::new(), &p.rand_stain.unwrap(), &mut recoloured);
            let mut want = nan_filled(plane);
            warp_image(&p.affine, cfg.fill_mode, cfg.fill_value, h, w, 3, &recoloured, &mut want);
            want.iter_mut().for_each(|v| *v /= 255.0);
            assert_bits_eq(&out[i * plane..(i + 1) * plane], &want, &format!("image {i}"));
        }
        // One channel: randomization does not apply.
        let g = TransformSpec { geom: ImageGeom::new(1, h, w, 1).unwrap(), augment: Some(AugmentConfig { rand_stain: distribution(), ..AugmentConfig::IDENTITY }), ..s };
        let grey: Vec<u8> = (0..h * w).map(|i| (i * 37 % 256) as u8).collect();
        let mut out = nan_filled(h * w);
        transform_images(&g, &grey, &[1], &mut out);
        assert_bits_eq(&out, &grey.iter().map(|&v| v as f32 / 255.0).collect::<Vec<_>>(), "grey image, randomization ignored");
    }

    fn invalid_distributions_are_rejected_with_the_field() {
        let cases: [(fn(&mut RandStainConfig), &str); 5] = [
            (|c| c.mean_avg[2] = f32::NAN, "rand_stain mean_avg[2] must be finite, got NaN"),
            (|c| c.mean_std[0] = -1.0, "rand_stain mean_std[0] must be finite and >= 0, got -1"),
            (|c| c.std_avg[1] = f32::INFINITY, "rand_stain std_avg[1] must be finite and >= 0, got inf"),
            (|c| c.std_std[2] = -0.5, "rand_stain std_std[2] must be finite and >= 0, got -0.5"),
            (|c| c.probability = 1.5, "rand_stain probability must be in [0, 1], got 1.5"),
        ];
        for (mutate, want) in cases {
            let mut cfg = AugmentConfig { rand_stain: distribution(), ..AugmentConfig::IDENTITY };
            mutate(&mut cfg.rand_stain);
            let err = cfg.validate().unwrap_err();
            assert!(err.message.contains(want), "{}", err.message);
        }
        assert!(AugmentConfig { rand_stain: distribution(), ..AugmentConfig::IDENTITY }.validate().is_ok());
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn stain_randomization_bit_identical_with_1_and_2_threads() {
    // 6·32·30·3 values: above the transform's parallel threshold.
    let (n, h, w) = (6usize, 32usize, 30usize);
    let src: Vec<u8> = (0..n as u64).flat_map(|i| tissue(h * w, [150.0, 80.0, 150.0], 60 + i)).collect();
    let cfg = AugmentConfig { rotation: 10.0, hflip: true, hue: 0.02, rand_stain: RandStainConfig { probability: 0.7, ..distribution() }, ..AugmentConfig::IDENTITY };
    let spec = TransformSpec { geom: ImageGeom::new(n, h, w, 3).unwrap(), seed: 5, epoch: 1, augment: Some(cfg), preprocess: Preprocess::MinMax };
    let ids: Vec<u32> = (0..n as u32).collect();
    let run_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut dst = nan_filled(spec.geom.len());
            transform_images(&spec, &src, &ids, &mut dst);
            dst
        })
    };
    assert_bits_eq(&run_with(1), &run_with(2), "transform with stain randomization, 1 vs 2 threads");
}

