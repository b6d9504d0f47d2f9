// Pixel-format conversion for images decoded by the browser (ImageData is
// RGBA). The model's preprocessing (minmax, caffe, standardize) is NOT done
// here: the worker runs the SDK's wasm transformer, the same kernel that
// prepared the training data, so browser inputs match training exactly.
//
// Plain ESM with no dependencies: used by the page's worker and by the tests.

/**
 * RGBA bytes (e.g. `ImageData.data`, `width·height·4`) to `channels` bytes
 * per pixel: 3 = RGB (alpha dropped, colours kept, as Pillow's convert('RGB')),
 * 1 = luminance (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B, rounded).
 */
export function rgbaToChannels(rgba, channels) {
  const pixels = rgba.length / 4;
  if (!Number.isInteger(pixels)) throw new Error(`rgbaToChannels: expected RGBA bytes (a multiple of 4), got ${rgba.length}`);
  if (channels !== 1 && channels !== 3) throw new Error(`rgbaToChannels: channels must be 1 or 3, got ${channels}`);
  const out = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const r = rgba[p * 4];
    const g = rgba[p * 4 + 1];
    const b = rgba[p * 4 + 2];
    if (channels === 3) {
      out[p * 3] = r;
      out[p * 3 + 1] = g;
      out[p * 3 + 2] = b;
    } else out[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  return out;
}
