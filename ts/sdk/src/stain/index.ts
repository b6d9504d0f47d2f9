export { fitStainNormalization, normalizeStains, stainTarget, type StainOptions } from './normalization.js';
export { fitDatasetStains, fitDatasetStainDistribution, stainNormalizedDataset } from './dataset.js';
export { fitStainDistribution, checkStainDistribution, type StainDistribution, type LabTriple } from './randomization.js';
