/**
 * The errors lite-cnn throws. Every message names where the problem is (layer,
 * kernel or file), what was expected and what was received.
 */
export class LiteCnnError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(capMessage(message), options);
    this.name = new.target.name;
  }
}

/** Longest message kept: a hostile file must not turn one error into megabytes of text. */
export const MAX_ERROR_MESSAGE = 2000;

function capMessage(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE) return message;
  return `${message.slice(0, MAX_ERROR_MESSAGE)}... (${message.length - MAX_ERROR_MESSAGE} more characters cut)`;
}

/** A tensor or geometry has the wrong shape or size. */
export class ShapeError extends LiteCnnError {}

/** A configuration value is invalid (e.g. zero filters, an unknown option). */
export class ConfigError extends LiteCnnError {}

/** Input data is invalid (NaN, labels out of range, unreadable images). */
export class DataError extends LiteCnnError {}

/** A model file is malformed, truncated or of an unknown version. */
export class ModelFormatError extends LiteCnnError {}

/** The wasm engine failed: it could not start, a kernel trapped, or it was shut down. */
export class RuntimeError extends LiteCnnError {}

/**
 * The engine could not allocate a buffer: the model (or its batch size) needs
 * more wasm memory than the engine has left under its limit. The message says
 * what was being allocated and how many bytes.
 */
export class OutOfMemoryError extends RuntimeError {
  constructor(
    message: string,
    /** The engine's memory limit (wasm's maximum memory), in bytes. */
    readonly limitBytes: number,
    /** The engine's memory when the allocation failed, in bytes. */
    readonly memoryBytes: number,
  ) {
    super(message);
  }
}

/**
 * A model produced NaN or ±Infinity from finite inputs (its weights are not
 * finite, or overflow): predictions from it are meaningless, so none are returned.
 */
export class NonFiniteOutputError extends RuntimeError {
  constructor(
    message: string,
    /** The first offending sample (0-based) and output unit, and its value. */
    readonly sample: number,
    readonly output: number,
    readonly value: number,
  ) {
    super(message);
  }
}
