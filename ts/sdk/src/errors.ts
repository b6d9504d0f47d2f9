/**
 * The errors lite-cnn throws. Every message names where the problem is (layer,
 * kernel or file), what was expected and what was received.
 */
export class LiteCnnError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
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
