/** Explainability: feature maps, Grad-CAM, and colours to display them. */
export { featureMaps, type FeatureMaps } from './feature-maps.js';
export { gradCam, type GradCamOptions, type GradCamResult, type GradCamMap } from './grad-cam.js';
export { heatmapToRgba, overlay, type ColormapName, type ColormapOptions } from './colormap.js';
export { resizeBilinear, normalizeMax } from './resize.js';
export { featureMapGrid, type FeatureGrid, type FeatureGridOptions } from './feature-grid.js';
export type { LayerRef } from './layer-ref.js';
