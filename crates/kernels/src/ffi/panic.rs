//! Panic reporting. With `panic = "abort"` a panic is a wasm trap; before it
//! traps, this hook copies the message into a static buffer (no allocation,
//! the allocator may be what failed) so the runtime can put it in the error it
//! throws. Only the first panic is kept: later ones are consequences.

use std::cell::UnsafeCell;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const CAP: usize = 2048;

struct Buf(UnsafeCell<[u8; CAP]>);
// SAFETY: written by exactly one thread (the CLAIMED flag), read after the trap.
unsafe impl Sync for Buf {}

static BUF: Buf = Buf(UnsafeCell::new([0; CAP]));
static LEN: AtomicUsize = AtomicUsize::new(0);
static CLAIMED: AtomicBool = AtomicBool::new(false);

struct Cursor<'a> {
    buf: &'a mut [u8; CAP],
    len: usize,
}

impl Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(CAP - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Installs the hook. Called once by the runtime after instantiation.
#[no_mangle]
pub extern "C" fn lc_install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if CLAIMED.swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: the CLAIMED flag makes this the only writer.
        let buf = unsafe { &mut *BUF.0.get() };
        let mut cur = Cursor { buf, len: 0 };
        let _ = write!(cur, "{info}");
        LEN.store(cur.len, Ordering::Release);
    }));
}

#[no_mangle]
pub extern "C" fn lc_panic_message_ptr() -> usize {
    BUF.0.get() as usize
}

#[no_mangle]
pub extern "C" fn lc_panic_message_len() -> usize {
    LEN.load(Ordering::Acquire)
}
