/**
 * The safetensors format (huggingface/safetensors), lite-cnn's model file:
 * an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header
 * `{ "<name>": { "dtype", "shape", "data_offsets": [begin, end] }, ..., "__metadata__": { string: string } }`,
 * then the data buffer. Offsets are relative to the start of the data buffer;
 * tensors are dense, little-endian and row-major.
 *
 * A model file may come from anywhere, so the reader trusts nothing: the
 * header length is checked against the input and a limit before anything is
 * decoded or allocated, sizes use exact integer arithmetic, and, as in the Rust
 * crate, the tensors must cover the data buffer exactly (no overlap, no gap, no
 * trailing bytes). Duplicate JSON keys, which JSON.parse would silently merge,
 * are rejected. Browser-safe: no Node built-ins.
 */
import { ConfigError, ModelFormatError, ShapeError } from '../errors.js';
import { findDuplicateKey } from './json-duplicates.js';
import { readLittleEndian, writeLittleEndian } from './little-endian.js';

/** Element type of a safetensors tensor (the format's own names). */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/**
 * The typed array holding each dtype. JavaScript has no 16-bit float array that
 * every supported runtime provides, so F16 and BF16 are their raw bit patterns
 * in a Uint16Array. BOOL is a Uint8Array of 0s and 1s; 64-bit integers are
 * BigInt arrays.
 */
interface SafetensorsArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

/**
 * A decoded tensor: `dtype` discriminates the kind of `data`. `data` is a copy
 * in host byte order that owns its memory (it shares none with the file bytes)
 * and starts at offset 0 of its buffer, so it is aligned for its type.
 */
export type SafetensorsTensor<D extends SafetensorsDtype = SafetensorsDtype> = D extends SafetensorsDtype
  ? { dtype: D; shape: number[]; data: SafetensorsArrays[D] }
  : never;

/** A tensor to write: its name in the file, dtype, shape and row-major data. */
export type SafetensorsEntry<D extends SafetensorsDtype = SafetensorsDtype> = D extends SafetensorsDtype
  ? { name: string; dtype: D; shape: readonly number[]; data: SafetensorsArrays[D] }
  : never;

/** A decoded file: tensors in data-buffer order, and the `__metadata__` strings (`{}` if absent). */
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export interface SafetensorsDecodeOptions {
  /**
   * Largest JSON header accepted, in bytes. Default 100,000,000, the limit of
   * the reference Rust crate; the header is checked against it before it is read.
   */
  maxHeaderBytes?: number;
  /** Most tensors accepted, checked before any is decoded (default: no limit). */
  maxTensors?: number;
  /** Most `__metadata__` entries accepted (default: no limit). */
  maxMetadataKeys?: number;
  /** Names the input (e.g. a file name) in error messages. */
  name?: string;
}

interface DtypeInfo<D extends SafetensorsDtype> {
  /** Bytes per element. */
  size: number;
  /** The typed array's class name (`Symbol.toStringTag`), checked on encode. */
  arrayName: string;
  view: (buffer: ArrayBuffer) => SafetensorsArrays[D];
}

const DTYPES: { readonly [D in SafetensorsDtype]: DtypeInfo<D> } = {
  F64: { size: 8, arrayName: 'Float64Array', view: (b) => new Float64Array(b) },
  F32: { size: 4, arrayName: 'Float32Array', view: (b) => new Float32Array(b) },
  F16: { size: 2, arrayName: 'Uint16Array', view: (b) => new Uint16Array(b) },
  BF16: { size: 2, arrayName: 'Uint16Array', view: (b) => new Uint16Array(b) },
  I64: { size: 8, arrayName: 'BigInt64Array', view: (b) => new BigInt64Array(b) },
  I32: { size: 4, arrayName: 'Int32Array', view: (b) => new Int32Array(b) },
  I16: { size: 2, arrayName: 'Int16Array', view: (b) => new Int16Array(b) },
  I8: { size: 1, arrayName: 'Int8Array', view: (b) => new Int8Array(b) },
  U64: { size: 8, arrayName: 'BigUint64Array', view: (b) => new BigUint64Array(b) },
  U32: { size: 4, arrayName: 'Uint32Array', view: (b) => new Uint32Array(b) },
  U16: { size: 2, arrayName: 'Uint16Array', view: (b) => new Uint16Array(b) },
  U8: { size: 1, arrayName: 'Uint8Array', view: (b) => new Uint8Array(b) },
  BOOL: { size: 1, arrayName: 'Uint8Array', view: (b) => new Uint8Array(b) },
};

const DTYPE_NAMES = Object.keys(DTYPES).join(', ');
const METADATA_KEY = '__metadata__';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'] as const;
const DEFAULT_MAX_HEADER_BYTES = 100_000_000;
/** Element counts are compared exactly up to here; beyond it no input can match anyway. */
const SIZE_CAP = 1n << 64n;

const isDtype = (value: unknown): value is SafetensorsDtype =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, value);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** A lone UTF-16 surrogate: TextEncoder would silently turn it into U+FFFD, renaming the tensor. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string for an error message: escaped, and cut so a hostile header cannot flood the message. */
function quote(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1);
  return `'${escaped.length > 80 ? `${escaped.slice(0, 80)}...` : escaped}'`;
}

/** A JSON value for an error message; bounded, since a hostile value may be huge or nested a million deep. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `the array ${preview(value)}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** `[1, 2, "x", [...], {...}, ... (N items)]`: the first few items of an array, never recursing. */
function preview(items: readonly unknown[]): string {
  const shown = items.slice(0, 8).map((v) => {
    if (Array.isArray(v)) return '[...]';
    if (typeof v === 'object' && v !== null) return '{...}';
    if (typeof v === 'string') return quote(v);
    return String(v);
  });
  if (items.length > shown.length) shown.push(`... (${items.length} items)`);
  return `[${shown.join(', ')}]`;
}

/** Product of `shape` times `size`, exact; capped at SIZE_CAP so a hostile shape cannot build a huge BigInt. */
function byteCount(shape: readonly number[], size: number): bigint {
  if (shape.includes(0)) return 0n;
  let total = BigInt(size);
  for (const d of shape) {
    total *= BigInt(d);
    if (total >= SIZE_CAP) return SIZE_CAP;
  }
  return total;
}

const bytesText = (n: bigint): string => (n >= SIZE_CAP ? 'at least 2^64 bytes' : `${n} bytes`);

// ---------------------------------------------------------------------------
// Writing

/**
 * Encodes tensors and optional string metadata as a safetensors file. Tensors
 * are laid out in the given order; `__metadata__` comes first in the header
 * with its keys sorted, so equal inputs give identical bytes. The header is
 * padded with spaces to a multiple of 8 bytes, so data begin 8-aligned when the
 * file is loaded at an aligned address (as the Rust crate does).
 *
 * Throws ConfigError for a bad name (empty, repeated, `__metadata__`, lone
 * surrogate), dtype, data array type or metadata, and ShapeError when a shape
 * is not made of non-negative integers or does not match the data's length.
 */
export function encodeSafetensors(
  tensors: readonly SafetensorsEntry[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  if (!Array.isArray(tensors)) {
    throw new ConfigError(`encodeSafetensors: expected an array of tensors, got ${describe(tensors)}`);
  }
  const fields = metadata === undefined ? [] : metadataField(checkedMetadata(metadata));

  const names = new Set<string>();
  const checked: SafetensorsEntry[] = [];
  let offset = 0;
  for (let index = 0; index < tensors.length; index++) {
    const tensor = tensors[index];
    checkEntry(tensor, index, names);
    checked.push(tensor);
    const begin = offset;
    offset += tensor.data.byteLength;
    const shape = JSON.stringify(tensor.shape);
    const info = `{"dtype":"${tensor.dtype}","shape":${shape},"data_offsets":[${begin},${offset}]}`;
    fields.push(`${JSON.stringify(tensor.name)}:${info}`);
  }

  const { out, dataAt } = layOut(fields, offset);
  let at = dataAt;
  for (const tensor of checked) {
    writeLittleEndian(tensor.data, DTYPES[tensor.dtype].size, out, at);
    at += tensor.data.byteLength;
  }
  return out;
}

function checkedMetadata(metadata: Readonly<Record<string, string>>): [string, string][] {
  if (!isPlainObject(metadata)) {
    throw new ConfigError(`encodeSafetensors: expected metadata to be an object of strings, got ${describe(metadata)}`);
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(metadata) as [string, unknown][]) {
    if (typeof value !== 'string') {
      throw new ConfigError(
        `encodeSafetensors: metadata ${quote(key)}: expected a string value, got ${describe(value)}`,
      );
    }
    if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
      throw new ConfigError(
        `encodeSafetensors: metadata ${quote(key)}: expected well-formed Unicode, got a lone surrogate ` +
          '(UTF-8 cannot encode it)',
      );
    }
    entries.push([key, value]);
  }
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function checkEntry(
  tensor: SafetensorsEntry | undefined,
  index: number,
  names: Set<string>,
): asserts tensor is SafetensorsEntry {
  const where = `encodeSafetensors: tensor ${index}`;
  if (!isPlainObject(tensor)) throw new ConfigError(`${where}: expected an object, got ${describe(tensor)}`);
  const { name, dtype, shape, data } = tensor as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') {
    throw new ConfigError(`${where}: expected a non-empty string name, got ${describe(name)}`);
  }
  const named = `${where} ${quote(name)}`;
  if (name === METADATA_KEY) {
    throw new ConfigError(`${named}: the name is reserved for the file's metadata; expected any other name`);
  }
  if (LONE_SURROGATE.test(name)) {
    throw new ConfigError(`${named}: expected well-formed Unicode, got a lone surrogate (UTF-8 cannot encode it)`);
  }
  if (names.has(name)) throw new ConfigError(`${named}: duplicate name; expected each tensor name once`);
  names.add(name);
  if (!isDtype(dtype)) {
    throw new ConfigError(`${named}: unknown dtype ${describe(dtype)}; expected one of ${DTYPE_NAMES}`);
  }
  const info = DTYPES[dtype];
  // The class name, not instanceof: arrays from another realm (a worker, a vm context) are fine too.
  const arrayName = ArrayBuffer.isView(data) ? (data as Uint8Array)[Symbol.toStringTag] : undefined;
  if (arrayName !== info.arrayName) {
    const got = arrayName ?? describe(data);
    throw new ConfigError(`${named}: dtype ${dtype} expects data of type ${info.arrayName}, got ${got}`);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new ShapeError(
      `${named}: expected the shape to be an array of non-negative integers, got ${describe(shape)}`,
    );
  }
  const length = (data as ArrayLike<unknown>).length;
  const needed = byteCount(shape, 1);
  if (needed !== BigInt(length)) {
    throw new ShapeError(
      `${named}: shape ${preview(shape)} needs ${needed >= SIZE_CAP ? 'at least 2^64' : needed} ` +
        `elements, got ${length} in the data`,
    );
  }
  if (dtype === 'BOOL') {
    const bad = (data as Uint8Array).findIndex((v) => v > 1);
    if (bad >= 0) {
      throw new ConfigError(`${named}: BOOL element ${bad} is ${(data as Uint8Array)[bad]}; expected 0 or 1`);
    }
  }
}

// ---------------------------------------------------------------------------
// Reading

/** A validated header entry. */
interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Decodes and validates a safetensors file. Every defect is a ModelFormatError
 * naming the problem, what was expected and what was found; nothing is
 * allocated in proportion to a length the file claims before that length has
 * been checked against the bytes actually present.
 *
 * Tensors are returned in data-buffer order, each a fresh copy (see
 * SafetensorsTensor); F16/BF16 come back as raw bits in a Uint16Array.
 */
export function decodeSafetensors(
  input: Uint8Array | ArrayBuffer,
  options?: SafetensorsDecodeOptions,
): SafetensorsFile {
  const { bytes, headerEnd, metadata, entries, what } = readHeader(input, options, 'decodeSafetensors');

  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    const info = DTYPES[e.dtype];
    const buffer = readLittleEndian(bytes.subarray(headerEnd + e.begin, headerEnd + e.end), info.size);
    // The table pairs each dtype with its array; TypeScript cannot follow that through the generic lookup.
    const tensor = { dtype: e.dtype, shape: e.shape, data: info.view(buffer) } as SafetensorsTensor;
    if (tensor.dtype === 'BOOL') {
      const bad = tensor.data.findIndex((v) => v > 1);
      if (bad >= 0) {
        throw new ModelFormatError(
          `${what}: tensor ${quote(e.name)} (BOOL): element ${bad} is ${tensor.data[bad]}; expected 0 or 1`,
        );
      }
    }
    tensors.set(e.name, tensor);
  }
  return { tensors, metadata };
}

/** A safetensors file's header, validated as `decodeSafetensors` validates it (length, JSON, limits, every entry's dtype, shape and offsets, the data's coverage), without reading any tensor's data. */
interface CheckedHeader {
  bytes: Uint8Array;
  header: Record<string, unknown>;
  /** Where the data section starts (the entries' offsets count from there). */
  headerEnd: number;
  metadata: Record<string, string>;
  entries: Entry[];
  what: string;
}

function readHeader(input: Uint8Array | ArrayBuffer, options: SafetensorsDecodeOptions | undefined, caller: string): CheckedHeader {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const what = options?.name === undefined ? 'safetensors' : `safetensors ${quote(options.name)}`;
  const maxHeaderBytes = options?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!isIndex(maxHeaderBytes)) {
    throw new ConfigError(
      `${caller}: expected maxHeaderBytes to be a non-negative integer, got ${describe(maxHeaderBytes)}`,
    );
  }

  if (bytes.length < 8) {
    throw new ModelFormatError(
      `${what}: truncated: expected at least 8 bytes (the header length), got ${bytes.length}`,
    );
  }
  // Both checks in BigInt, before any decoding: a u64 length may exceed 2^53.
  const claimed = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (claimed > BigInt(bytes.length - 8)) {
    throw new ModelFormatError(
      `${what}: header length ${claimed} bytes is larger than the ${bytes.length - 8} bytes after the ` +
        'length field (truncated, or not a safetensors file)',
    );
  }
  if (claimed > BigInt(maxHeaderBytes)) {
    throw new ModelFormatError(
      `${what}: header length ${claimed} bytes exceeds the limit of ${maxHeaderBytes} (maxHeaderBytes)`,
    );
  }
  const headerEnd = 8 + Number(claimed);
  const header = parseHeader(bytes.subarray(8, headerEnd), what);
  const dataLength = bytes.length - headerEnd;
  const keys = Object.keys(header);
  const hasMetadata = Object.prototype.hasOwnProperty.call(header, METADATA_KEY);
  checkLimit(what, 'tensors', keys.length - (hasMetadata ? 1 : 0), options?.maxTensors, 'maxTensors');
  if (hasMetadata && isPlainObject(header[METADATA_KEY])) {
    checkLimit(what, `${METADATA_KEY} entries`, Object.keys(header[METADATA_KEY]).length, options?.maxMetadataKeys, 'maxMetadataKeys');
  }

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  // Object.keys and a lookup: Object.entries is several times slower on a header with millions of keys.
  for (const key of keys) {
    if (key === METADATA_KEY) metadata = readMetadata(header[key], what);
    else entries.push(readEntry(key, header[key], what, dataLength));
  }
  checkCoverage(entries, dataLength, what);
  return { bytes, header, headerEnd, metadata, entries, what };
}

/**
 * The `__metadata__` of a safetensors file, the header validated as
 * `decodeSafetensors` does, without decoding (copying) its tensors: for a
 * checkpoint's state beside large weights.
 */
export function readSafetensorsMetadata(input: Uint8Array | ArrayBuffer, options?: SafetensorsDecodeOptions): Record<string, string> {
  return readHeader(input, options, 'readSafetensorsMetadata').metadata;
}

function checkLimit(what: string, counted: string, count: number, limit: number | undefined, option: string): void {
  if (limit !== undefined && count > limit) {
    throw new ModelFormatError(`${what}: ${count} ${counted}, above the limit of ${limit} (${option})`);
  }
}

function parseHeader(raw: Uint8Array, what: string): Record<string, unknown> {
  // TextDecoder refuses views of shared memory in browsers; a header there is copied first.
  const shared = typeof SharedArrayBuffer !== 'undefined' && raw.buffer instanceof SharedArrayBuffer;
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so JSON.parse rejects it as the Rust crate does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(shared ? new Uint8Array(raw) : raw);
  } catch (cause) {
    throw new ModelFormatError(`${what}: expected the ${raw.length}-byte header to be UTF-8, got invalid bytes`, {
      cause,
    });
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ModelFormatError(`${what}: expected the header to be JSON, got a parse error: ${reason}`, { cause });
  }
  if (!isPlainObject(header)) {
    throw new ModelFormatError(`${what}: expected the header to be a JSON object, got ${describe(header)}`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    const where = duplicate.path.length === 0 ? 'the header' : `header object ${duplicate.path.map(quote).join(' > ')}`;
    const kind = duplicate.path.length === 0 ? 'tensor name' : 'key';
    throw new ModelFormatError(
      `${what}: duplicate ${kind} ${quote(duplicate.key)} in ${where}; expected each key once ` +
        '(readers disagree on which one wins)',
    );
  }
  return header;
}

function readMetadata(value: unknown, what: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new ModelFormatError(`${what}: expected ${METADATA_KEY} to be an object of strings, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v !== 'string') {
      throw new ModelFormatError(`${what}: ${METADATA_KEY} ${quote(key)}: expected a string value, got ${describe(v)}`);
    }
    if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(v)) {
      throw new ModelFormatError(
        `${what}: ${METADATA_KEY} ${quote(key)}: expected well-formed Unicode, got a lone surrogate`,
      );
    }
  }
  // JSON.parse made this object and defined its keys as own data properties, so
  // a key like "__proto__" is plain data; no one else holds it, so no copy is needed.
  return value as Record<string, string>;
}

function readEntry(name: string, value: unknown, what: string, dataLength: number): Entry {
  const where = `${what}: tensor ${quote(name)}`;
  if (name === '') throw new ModelFormatError(`${what}: expected non-empty tensor names, got an empty one`);
  if (LONE_SURROGATE.test(name)) {
    throw new ModelFormatError(`${where}: expected a well-formed Unicode name, got a lone surrogate`);
  }
  if (!isPlainObject(value)) {
    throw new ModelFormatError(`${where}: expected an object {dtype, shape, data_offsets}, got ${describe(value)}`);
  }
  const extra = Object.keys(value).find((k) => !(ENTRY_KEYS as readonly string[]).includes(k));
  if (extra !== undefined) {
    throw new ModelFormatError(`${where}: unexpected key ${quote(extra)}; expected only dtype, shape and data_offsets`);
  }
  const missing = ENTRY_KEYS.find((k) => !Object.prototype.hasOwnProperty.call(value, k));
  if (missing !== undefined) {
    throw new ModelFormatError(`${where}: missing key '${missing}'; expected dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDtype(dtype)) {
    throw new ModelFormatError(`${where}: unknown dtype ${describe(dtype)}; expected one of ${DTYPE_NAMES}`);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new ModelFormatError(
      `${where}: expected shape to be an array of non-negative integers, got ${describe(shape)}`,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw new ModelFormatError(
      `${where}: expected data_offsets to be two non-negative integers [begin, end], got ${describe(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new ModelFormatError(`${where}: expected data_offsets begin <= end, got [${begin}, ${end}]`);
  if (end > dataLength) {
    throw new ModelFormatError(
      `${where}: data_offsets [${begin}, ${end}] end beyond the data buffer: expected end <= ${dataLength}, got ${end}`,
    );
  }
  const needed = byteCount(shape as number[], DTYPES[dtype].size);
  if (needed !== BigInt(end - begin)) {
    throw new ModelFormatError(
      `${where}: shape ${preview(shape)} of ${dtype} needs ${bytesText(needed)}, ` +
        `got data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
    );
  }
  // `+ 0` turns a JSON -0 into 0.
  return { name, dtype, shape: (shape as number[]).map((d) => d + 0), begin, end };
}

/** Sorts `entries` by offset and checks they tile [0, dataLength) exactly, as the Rust crate requires. */
function checkCoverage(entries: Entry[], dataLength: number, what: string): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let covered = 0;
  let previous: Entry | undefined;
  for (const e of entries) {
    const span = `tensor ${quote(e.name)} data_offsets [${e.begin}, ${e.end}]`;
    if (previous !== undefined && e.begin < covered) {
      throw new ModelFormatError(
        `${what}: ${span} overlaps tensor ${quote(previous.name)} [${previous.begin}, ${previous.end}]; ` +
          `expected it to begin at ${covered}`,
      );
    }
    if (e.begin > covered) {
      const after = previous === undefined ? 'at the start of the data buffer' : `after tensor ${quote(previous.name)}`;
      throw new ModelFormatError(
        `${what}: gap of ${e.begin - covered} bytes ${after}: expected ${span} to begin at ${covered} ` +
          '(the tensors must cover the data buffer exactly)',
      );
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    throw new ModelFormatError(
      `${what}: ${dataLength - covered} trailing bytes: expected the data buffer to end at byte ${covered} ` +
        `(the end of the last tensor), got ${dataLength} bytes`,
    );
  }
}

/**
 * `bytes` (a safetensors file) with `entries` added to its `__metadata__`
 * (replacing keys of the same name); the tensors are unchanged. Checkpoints
 * use it to record their training state beside a model file's own entries.
 */
export function withSafetensorsMetadata(bytes: Uint8Array, entries: Readonly<Record<string, string>>): Uint8Array {
  // Only the header is rewritten: the data section is copied as it is (its offsets count from its own
  // start), so a checkpoint of large weights costs one copy, not a decode and an encode. The header
  // is validated as decodeSafetensors would, and laid out as encodeSafetensors lays it out
  // (metadata first, then the entries in their order), so an encoded file gets the same bytes.
  const { header, headerEnd, metadata } = readHeader(bytes, undefined, 'withSafetensorsMetadata');
  const fields = metadataField(checkedMetadata({ ...metadata, ...entries }));
  for (const key of Object.keys(header)) {
    if (key !== METADATA_KEY) fields.push(`${JSON.stringify(key)}:${JSON.stringify(header[key])}`);
  }
  const data = bytes.subarray(headerEnd);
  const { out, dataAt } = layOut(fields, data.length);
  out.set(data, dataAt);
  return out;
}

/** The header's `__metadata__` field for `entries`, or no field when there are none. */
function metadataField(entries: [string, string][]): string[] {
  if (entries.length === 0) return [];
  return [`${JSON.stringify(METADATA_KEY)}:{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`];
}

/**
 * A file of the header `fields` and `dataBytes` bytes of data (left for the
 * caller to write at `dataAt`): the header's length as a u64, then its JSON
 * padded with spaces to a multiple of 8 bytes, so the data starts aligned.
 */
function layOut(fields: string[], dataBytes: number): { out: Uint8Array; dataAt: number } {
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  return { out, dataAt: 8 + headerLength };
}
