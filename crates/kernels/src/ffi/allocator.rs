//! The wasm build's global allocator: the system allocator (dlmalloc), with
//! every block of `LINE_ALIGNED_FROM` bytes or more starting on a 64-byte
//! cache line.
//!
//! dlmalloc aligns blocks to 8 bytes: a model's parameters, activations and
//! scratch (`Vec<f32>`) then started 8 bytes past a 16-byte boundary, so every
//! SIMD128 load and store of them was misaligned and one in four straddled two
//! cache lines, whatever the executor's planner did to keep its tensors
//! 64-byte aligned within those buffers (`exec/graph.rs` `ALIGN`). Which
//! buffers happened to land aligned changed with any allocation before them,
//! so unrelated changes moved kernel speeds by up to a tenth.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large are cache-line aligned (smaller ones, strings
/// and bookkeeping, keep dlmalloc's packing).
const LINE_ALIGNED_FROM: usize = 256;
const CACHE_LINE: usize = 64;

struct CacheLineAligned;

/// `layout` with at least cache-line alignment when it is large enough. Pure,
/// so `dealloc` gets back the layout `alloc` used.
fn line_aligned(layout: Layout) -> Layout {
    if layout.size() < LINE_ALIGNED_FROM || layout.align() >= CACHE_LINE {
        return layout;
    }
    // A power of two no smaller than the original alignment: always valid.
    Layout::from_size_align(layout.size(), CACHE_LINE).unwrap_or(layout)
}

// SAFETY: every call forwards to `System` with the same `line_aligned` layout
// for a block's allocation and its release; `realloc` keeps `GlobalAlloc`'s
// default (allocate, copy, free through these functions), so a block that
// grows past `LINE_ALIGNED_FROM` is moved to an aligned one.
unsafe impl GlobalAlloc for CacheLineAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(line_aligned(layout))
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(line_aligned(layout))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, line_aligned(layout))
    }
}

#[global_allocator]
static ALLOCATOR: CacheLineAligned = CacheLineAligned;

#[cfg(feature = "selftest")]
pub(crate) mod tests {
    use super::{CACHE_LINE, LINE_ALIGNED_FROM};

    crate::kernel_tests! {
        fn allocator_aligns_large_blocks_to_cache_lines() {
            // Buffers like a model's parameters and arenas, of awkward sizes,
            // allocated, grown and cloned.
            for floats in [LINE_ALIGNED_FROM / 4, 1000, 4097, 1 << 20] {
                let mut v = vec![0.5f32; floats];
                assert_eq!(v.as_ptr() as usize % CACHE_LINE, 0, "{floats} floats");
                let copy = v.clone();
                assert_eq!(copy.as_ptr() as usize % CACHE_LINE, 0, "a clone of {floats} floats");
                v.resize(floats * 3 + 1, 1.0);
                assert_eq!(v.as_ptr() as usize % CACHE_LINE, 0, "{floats} floats grown");
                assert!(v[..floats].iter().all(|&x| x == 0.5) && v[floats..].iter().all(|&x| x == 1.0), "contents kept");
            }
            // A small block that grows past the threshold moves to an aligned one.
            let mut small = vec![7u8; 16];
            small.resize(LINE_ALIGNED_FROM * 4, 7);
            assert_eq!(small.as_ptr() as usize % CACHE_LINE, 0);
            assert!(small.iter().all(|&b| b == 7));
        }
    }
}
