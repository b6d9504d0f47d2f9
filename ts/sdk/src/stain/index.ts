export { fitStainNormalization, normalizeStains, stainTarget, type StainOptions } from './normalization.js';
export { fitDatasetStains, stainNormalizedDataset } from './dataset.js';
