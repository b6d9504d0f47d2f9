export { fitStainNormalization, normalizeStains, stainTarget, type StainOptions } from './normalization.js';
export { fitDatasetStains, stainNormalizedDataset } from './dataset.js';
export { fitStainDistribution, fitDatasetStainDistribution, checkStainDistribution, type StainDistribution, type LabTriple } from './randomization.js';
