//! The kernel test suite, written once and run two ways:
//! - natively by `cargo test` (each case is a `#[test]`);
//! - compiled into the wasm module with `--features selftest` and run under
//!   Node by `tests/wasm/run-selftests.mjs`, so the SIMD128 paths and the wasm
//!   thread pool are what gets tested. Under wasm a failed assertion is a panic,
//!   i.e. a trap: the panic hook records the message for the runner first.
//!
//! Modules declare their cases with `kernel_tests!` and list them in `all()`.

pub mod gradcheck;
pub mod util;

/// One named test case.
#[derive(Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    pub run: fn(),
}

/// Declares test functions; each becomes a `#[test]` natively and an entry in
/// the module's `CASES` for the wasm runner.
#[macro_export]
macro_rules! kernel_tests {
    ($( $(#[$meta:meta])* fn $name:ident() $body:block )*) => {
        $( $(#[$meta])* #[cfg_attr(test, test)] pub fn $name() $body )*
        pub const CASES: &[$crate::selftest::Case] = &[
            $( $crate::selftest::Case { name: concat!(module_path!(), "::", stringify!($name)), run: $name } ),*
        ];
    };
}

/// Every registered case, in a fixed order.
pub fn all() -> Vec<Case> {
    [
        crate::gemm::tests::CASES,
        crate::gemm::transposed::tests::CASES,
        crate::conv2d::tests::CASES,
        crate::conv2d::winograd::tests::CASES,
        crate::conv2d::winograd::wgrad::tests::CASES,
        crate::depthwise::tests::CASES,
        crate::loss::tests::softmax_ce::CASES,
        crate::loss::tests::bce::CASES,
        crate::loss::tests::probability_ce::CASES,
        crate::optim::tests::update::CASES,
        crate::optim::tests::penalty::CASES,
        crate::pool::tests::CASES,
        crate::batchnorm::tests::CASES,
        crate::batchnorm::relu_tests::CASES,
        crate::batchnorm::column_tests::CASES,
        crate::columns::tests::CASES,
        crate::activation::tests::CASES,
        crate::pad2d::tests::CASES,
        crate::dropout::tests::CASES,
        crate::rng::tests::CASES,
        crate::merge::tests::CASES,
        crate::merge::multiply_tests::CASES,
        crate::exec::tests::CASES,
        crate::exec::fusion_tests::CASES,
        crate::exec::train_fusion_tests::CASES,
        crate::exec::trainable_tests::CASES,
        crate::exec::frozen_prefix_tests::CASES,
        crate::exec::replan_tests::CASES,
        crate::exec::profile_tests::CASES,
        crate::image::tests::CASES,
        crate::image::stain_tests::CASES,
        crate::image::randstain_tests::CASES,
        crate::image::mix_tests::CASES,
        crate::finite::tests::CASES,
        crate::vecops::tests::CASES,
        #[cfg(target_arch = "wasm32")]
        crate::ffi::allocator::tests::CASES,
    ]
    .concat()
}
