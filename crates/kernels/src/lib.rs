//! lite-cnn compute kernels.
//!
//! Layout NHWC, f32. Each op family lives in its own module as plain functions
//! over slices plus a geometry struct (see `geom`); `reference` holds the naive
//! loops that are the spec and the test oracle; `ffi` is the C ABI the TypeScript
//! runtime calls (validation happens there, once, and errors are codes, never
//! panics). `par` is the one place that decides whether a loop runs on the rayon
//! pool, and `simd` the one place that knows about SIMD128.
#![cfg_attr(
    all(target_arch = "wasm32", feature = "threads"),
    feature(stdarch_wasm_atomic_wait)
)]

pub mod activation;
pub mod batchnorm;
pub mod chunked;
pub mod columns;
pub mod conv2d;
pub mod depthwise;
pub mod dropout;
pub mod error;
pub mod finite;
pub mod exec;
pub mod geom;
pub mod gemm;
pub mod image;
pub mod loss;
pub mod merge;
pub mod optim;
pub mod pad2d;
pub mod par;
pub mod pool;
pub mod reference;
pub mod rng;
pub mod simd;
pub(crate) mod taps;
pub mod vecops;

#[cfg(target_arch = "wasm32")]
pub mod ffi;

#[cfg(any(test, feature = "selftest"))]
pub mod selftest;
