/** `lc_stain_fit` / `lc_stain_normalize` arguments (crates/kernels/src/ffi/stain.rs, `StainArgs`). */
export const STAIN_ARGS = [
  ['imagesPtr', 'u32'],
  ['n', 'u32'],
  ['h', 'u32'],
  ['w', 'u32'],
  ['c', 'u32'],
  ['method', 'u32'],
  ['outPtr', 'u32'],
  ['target0', 'f32'],
  ['target1', 'f32'],
  ['target2', 'f32'],
  ['target3', 'f32'],
  ['target4', 'f32'],
  ['target5', 'f32'],
  ['target6', 'f32'],
  ['target7', 'f32'],
] as const;

/** `StainArgs.method`. */
export const StainMethodCode = { reinhard: 1, macenko: 2 } as const;

/** Parameters per image (`crate::image::normalize::STAIN_PARAMS`); a fit row adds a validity flag. */
export const STAIN_PARAMS = 8;
export const FIT_ROW = STAIN_PARAMS + 1;
