//! Build facts the runtime reports (which artifact, SIMD, threads).

/// Bit 0: SIMD128 kernels; bit 1: built with a thread pool; bit 2: selftests;
/// bit 3: relaxed-SIMD multiply-add (the relaxed artifacts).
#[no_mangle]
pub extern "C" fn lc_build_flags() -> u32 {
    (crate::simd::SIMD128 as u32)
        | ((cfg!(feature = "threads") as u32) << 1)
        | ((cfg!(feature = "selftest") as u32) << 2)
        | ((crate::simd::RELAXED_SIMD as u32) << 3)
}

/// Threads the kernels can use right now (1 before the pool is built).
#[no_mangle]
pub extern "C" fn lc_num_threads() -> u32 {
    super::pool::num_threads() as u32
}
