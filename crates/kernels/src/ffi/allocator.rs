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
