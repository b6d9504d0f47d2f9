/**
 * Moving typed-array elements to and from little-endian bytes, correctly on any
 * host. Every platform lite-cnn runs on today is little-endian, where this is a
 * plain byte copy; the swap path keeps file bytes the same on a big-endian host
 * instead of silently writing (or reading) byte-reversed numbers.
 */

/** True when this host stores multi-byte numbers little-endian. */
export const HOST_IS_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of each `size`-byte group of `bytes` in place. */
function swapGroups(bytes: Uint8Array, size: number): void {
  for (let at = 0; at + size <= bytes.length; at += size) {
    for (let lo = at, hi = at + size - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo]!;
      bytes[lo] = bytes[hi]!;
      bytes[hi] = t;
    }
  }
}

/**
 * Writes the elements of `src` (each `size` bytes, in host order) into `dst` at
 * byte `at`, little-endian. `src` may be a view into any buffer, shared or not.
 */
export function writeLittleEndian(
  src: ArrayBufferView,
  size: number,
  dst: Uint8Array,
  at: number,
  hostIsLittleEndian: boolean = HOST_IS_LITTLE_ENDIAN,
): void {
  dst.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), at);
  if (!hostIsLittleEndian && size > 1) swapGroups(dst.subarray(at, at + src.byteLength), size);
}

/**
 * Copies little-endian elements of `size` bytes into a new ArrayBuffer in host
 * order. The copy starts at offset 0 of its own buffer, so any typed array can
 * view it whatever the alignment of `src`, and it shares no memory with `src`.
 */
export function readLittleEndian(
  src: Uint8Array,
  size: number,
  hostIsLittleEndian: boolean = HOST_IS_LITTLE_ENDIAN,
): ArrayBuffer {
  // Not src.slice(): on a Node Buffer that is a view, not a copy.
  const copy = new Uint8Array(src);
  if (!hostIsLittleEndian && size > 1) swapGroups(copy, size);
  return copy.buffer;
}
