/**
 * Networks with torchvision's exact structure and parameter counts, named by
 * torchvision's module paths so `state_dict` weights map one to one
 * (`torchvisionKeys`): `applications.resnet18()`, `resnet50`, `mobilenetV2`,
 * `vgg16`, each taking `{ inputShape, classes, includeTop }`.
 */
export { resnet18, resnet50 } from './resnet.js';
export { mobilenetV2 } from './mobilenet-v2.js';
export { vgg16 } from './vgg.js';
export { torchvisionKeys, type TorchvisionKey } from './torchvision-keys.js';
export type { ApplicationArgs } from './common.js';
export { TORCHVISION_PREPROCESSING } from './preprocessing.js';
