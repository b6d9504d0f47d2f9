// The networks of the zoo benchmark and what "fine-tuning" freezes: every
// layer before the last stage (ResNet-18's layer4, MobileNetV2's last two
// inverted-residual blocks and final conv), a 2-class head, batch 32.
export const NETS = [
  { name: 'resnet18', app: 'resnet18', torch: 'resnet18', trainFrom: 'layer4.' },
  { name: 'mobilenetv2', app: 'mobilenetV2', torch: 'mobilenet_v2', trainFrom: 'features.16' },
];
export const SIZE = 224;
export const CLASSES = 2;
