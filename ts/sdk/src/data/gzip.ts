/**
 * Transparent gzip: detecting the gzip magic and decompressing, with
 * `node:zlib` in Node (imported dynamically so browser bundles stay clean) and
 * `DecompressionStream('gzip')` elsewhere.
 */
import { DataError } from '../errors.js';
import { hostKind } from '../runtime/platform.js';

/** True when `bytes` start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip bytes (all members); `what` names the input in errors. */
export async function gunzip(bytes: Uint8Array, what: string): Promise<Uint8Array> {
  return hostKind() === 'node' ? gunzipWithZlib(bytes, what) : gunzipWithStream(bytes, what);
}

/** @internal Node's zlib. */
export async function gunzipWithZlib(bytes: Uint8Array, what: string): Promise<Uint8Array> {
  const zlib = await import('node:zlib');
  return new Promise<Uint8Array>((resolve, reject) => {
    zlib.gunzip(bytes, (err, out) => {
      if (err) reject(corrupt(what, bytes.length, err));
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    });
  });
}

/** @internal The Compression Streams API (browsers, Deno, Node >= 18). */
export async function gunzipWithStream(bytes: Uint8Array, what: string): Promise<Uint8Array> {
  const DS = (globalThis as { DecompressionStream?: typeof DecompressionStream }).DecompressionStream;
  if (DS === undefined) {
    throw new DataError(`${what}: the input is gzip-compressed and this platform has no DecompressionStream; decompress it first`);
  }
  // Copy into a plain ArrayBuffer: a Blob part must not be a SharedArrayBuffer view.
  const input = new Blob([bytes.slice()]).stream().pipeThrough(new DS('gzip'));
  try {
    return new Uint8Array(await new Response(input).arrayBuffer());
  } catch (cause) {
    throw corrupt(what, bytes.length, cause);
  }
}

function corrupt(what: string, length: number, cause: unknown): DataError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new DataError(`${what}: expected a valid gzip stream, got ${length} bytes that fail to decompress (${detail})`, { cause });
}
