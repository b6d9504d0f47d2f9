/**
 * Single image files as model inputs (`lite-cnn predict`): decoded and
 * resized by the SDK (squash, as training's default), then preprocessed as
 * the model file says by the SDK's wasm transformer.
 */
import { decodeImages, defaultEngine, ImageDataset, WasmImageTransformer, type Model, Sequential } from '@lite-cnn/sdk';

export async function imageFilesDataset(paths: readonly string[], model: Model): Promise<ImageDataset> {
  const shape = model.inputShape;
  const decoded = await decodeImages(paths, { shape, onBadImage: 'fail' });
  const engine = await defaultEngine();
  return new ImageDataset({
    images: decoded.images,
    shape,
    labels: new Array<number>(paths.length).fill(0), // unknown: predict ignores them
    transformer: new WasmImageTransformer(engine, { preprocessing: model.metadata.preprocessing, seed: model.seed }),
    engine,
    ...(model.metadata.classNames ? { classNames: model.metadata.classNames } : {}),
  });
}
