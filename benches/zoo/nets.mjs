// The networks of the zoo benchmark and what "fine-tuning" freezes: every
// layer before the last stage (ResNet-18's layer4, MobileNetV2's last two
// inverted-residual blocks and final conv), a 2-class head, batch 32.
// `--only NAME` (run.mjs, lite.mjs) restricts a run to one of them.
const ALL = [
  { name: 'resnet18', app: 'resnet18', torch: 'resnet18', trainFrom: 'layer4.' },
  { name: 'mobilenetv2', app: 'mobilenetV2', torch: 'mobilenet_v2', trainFrom: 'features.16' },
];
export const onlyArgs = process.argv.includes('--only') ? ['--only', process.argv[process.argv.indexOf('--only') + 1]] : [];
export const NETS = ALL.filter((net) => !onlyArgs.length || net.name === onlyArgs[1]);
if (!NETS.length) throw new Error(`--only: expected one of ${ALL.map((n) => n.name).join(', ')}, got ${onlyArgs[1]}`);
export const SIZE = 224;
/**
 * `--stages` (run.mjs, lite.mjs, torch_zoo.py): per-stage times of ResNet-18
 * at batch 1 and 32, from `Model.profile` and from PyTorch forward hooks on
 * torchvision's top-level modules; both name layers as torchvision does.
 */
export const stages = process.argv.includes('--stages');
/** ResNet-18's stage of a layer: 'stem' (conv1, bn1, relu, maxpool), 'layer1'-'layer4', or 'head' (avgpool, fc). */
export function resnetStage(name) {
  const top = name.split('.')[0];
  if (top.startsWith('layer')) return top;
  return ['conv1', 'bn1', 'relu', 'maxpool'].includes(top) ? 'stem' : 'head';
}
export const RESNET_STAGES = ['stem', 'layer1', 'layer2', 'layer3', 'layer4', 'head'];
export const CLASSES = 2;
