//! Allocation for JS and validation of the pointers JS passes in.

use crate::error::KernelError;
use std::alloc::{alloc, dealloc, Layout};

/// Allocates `size` bytes aligned to `align` (a power of two); 0 on failure.
/// Used by the runtime for tensors, worker stacks and TLS blocks.
#[no_mangle]
pub extern "C" fn lc_alloc(size: usize, align: usize) -> usize {
    match Layout::from_size_align(size.max(1), align.max(1)) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc(layout) as usize },
        Err(_) => 0,
    }
}

/// Frees a block from `lc_alloc` with the same size and alignment.
#[no_mangle]
pub extern "C" fn lc_free(ptr: usize, size: usize, align: usize) {
    if ptr == 0 {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(size.max(1), align.max(1)) {
        // SAFETY: the runtime passes back exactly what lc_alloc returned.
        unsafe { dealloc(ptr as *mut u8, layout) }
    }
}

fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65536
}

/// Checks that `[ptr, ptr + len·4)` is a non-null, 4-byte aligned range inside
/// linear memory. `what` names the argument in the error (e.g. "gemm: a").
pub fn check_f32_range(ptr: usize, len: usize, what: &str) -> Result<(), KernelError> {
    if ptr == 0 {
        return Err(KernelError::pointer(format!("{what}: null pointer")));
    }
    if ptr % 4 != 0 {
        return Err(KernelError::pointer(format!("{what}: pointer {ptr:#x} is not 4-byte aligned")));
    }
    let end = len.checked_mul(4).and_then(|b| b.checked_add(ptr));
    match end {
        Some(end) if end <= memory_bytes() => Ok(()),
        _ => Err(KernelError::pointer(format!(
            "{what}: {len} f32 at {ptr:#x} extend past the end of memory ({} bytes)",
            memory_bytes()
        ))),
    }
}

/// Checks that `[ptr, ptr + len)` is a non-null byte range inside linear
/// memory (u8 data: no alignment needed). `what` names the argument.
pub fn check_byte_range(ptr: usize, len: usize, what: &str) -> Result<(), KernelError> {
    if ptr == 0 {
        return Err(KernelError::pointer(format!("{what}: null pointer")));
    }
    match ptr.checked_add(len) {
        Some(end) if end <= memory_bytes() => Ok(()),
        _ => Err(KernelError::pointer(format!(
            "{what}: {len} bytes at {ptr:#x} extend past the end of memory ({} bytes)",
            memory_bytes()
        ))),
    }
}

/// Fails when an output range overlaps an input range.
pub fn check_disjoint(out: (usize, usize), input: (usize, usize), what: &str) -> Result<(), KernelError> {
    let (o0, o1) = (out.0, out.0 + out.1 * 4);
    let (i0, i1) = (input.0, input.0 + input.1 * 4);
    if o0 < i1 && i0 < o1 {
        return Err(KernelError::pointer(format!("{what}: output overlaps an input")));
    }
    Ok(())
}

/// # Safety
/// The range must have passed `check_f32_range` and stay valid and unaliased
/// by writers for the returned lifetime.
pub unsafe fn f32_slice<'a>(ptr: usize, len: usize) -> &'a [f32] {
    std::slice::from_raw_parts(ptr as *const f32, len)
}

/// # Safety
/// As `f32_slice`, and no other reference to the range may exist.
pub unsafe fn f32_slice_mut<'a>(ptr: usize, len: usize) -> &'a mut [f32] {
    std::slice::from_raw_parts_mut(ptr as *mut f32, len)
}

/// Reads a `#[repr(C)]` struct of u32/f32 fields that JS wrote at `ptr`.
pub(super) fn read_struct<T: Copy>(ptr: usize, what: &str) -> Result<T, KernelError> {
    let words = core::mem::size_of::<T>() / 4;
    check_f32_range(ptr, words, what)?;
    // SAFETY: range checked; T is a plain repr(C) struct of 4-byte fields.
    Ok(unsafe { core::ptr::read_unaligned(ptr as *const T) })
}
