/**
 * Single image files as model inputs (`lite-cnn predict`): decoded and
 * resized by the SDK (squash, as training's default), stain-normalized and
 * preprocessed as the model file says (the SDK's wasm kernels).
 */
import { decodeImages, defaultEngine, ImageDataset, normalizeStains, WasmImageTransformer, type Model } from '@lite-cnn/sdk';

export async function imageFilesDataset(paths: readonly string[], model: Model): Promise<ImageDataset> {
  const shape = model.inputShape;
  const decoded = await decodeImages(paths, { shape, onBadImage: 'fail' });
  const engine = await defaultEngine();
  const { images } = await normalizeStains(decoded.images, shape, model.metadata.stainNormalization, { engine });
  return new ImageDataset({
    images,
    shape,
    labels: new Array<number>(paths.length).fill(0), // unknown: predict ignores them
    transformer: new WasmImageTransformer(engine, { preprocessing: model.metadata.preprocessing, seed: model.seed }),
    engine,
    ...(model.metadata.classNames ? { classNames: model.metadata.classNames } : {}),
  });
}
