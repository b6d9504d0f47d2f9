//! Error codes returned across the C ABI. The TypeScript twin lives in
//! `ts/sdk/src/runtime/error-codes.ts`; keep the numbers in step.

use std::fmt;

#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Ok = 0,
    /// A size or geometry field is out of range (zero, negative, overflowing).
    InvalidGeometry = 1,
    /// A pointer is null, misaligned or its extent lies outside linear memory.
    InvalidPointer = 2,
    /// A call arrived while another one was still running.
    Busy = 3,
    /// A pool worker trapped while running the job; the engine is unusable.
    WorkerFault = 4,
    /// The thread pool could not be built.
    PoolError = 5,
    /// An allocation failed.
    OutOfMemory = 6,
    /// A data or hyperparameter value is out of range (a label, a target, a
    /// learning rate, a weight).
    InvalidValue = 7,
}

/// A validation failure: the code plus a message naming the field, the expected
/// and the received value. The FFI layer stores the message for JS to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    pub code: ErrorCode,
    pub message: String,
}

impl KernelError {
    pub fn geometry(message: impl Into<String>) -> Self {
        Self { code: ErrorCode::InvalidGeometry, message: message.into() }
    }
    pub fn pointer(message: impl Into<String>) -> Self {
        Self { code: ErrorCode::InvalidPointer, message: message.into() }
    }
    pub fn value(message: impl Into<String>) -> Self {
        Self { code: ErrorCode::InvalidValue, message: message.into() }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for KernelError {}
