// The two reference nets in TensorFlow.js layers, shaped exactly like the
// lite-cnn nets (ts/sdk/test/nets.ts, benches/step.mjs) and the PyTorch twins
// (benches/torch_step.py): NHWC, 'valid' padding, conv biases on, BatchNorm
// epsilon 1e-3 / momentum 0.99, Glorot-uniform kernels (tfjs' default).
// Plain JS taking `tf` (tfjs-core + tfjs-layers) as an argument, so the Node
// runner and the browser page build the same models.

/** name, input shape (HWC), classes, expected trainable parameters, builder */
export const TFJS_NETS = [
  {
    name: 'mnist',
    input: [28, 28, 1],
    classes: 10,
    params: 3554,
    build: (tf) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu', inputShape: [28, 28, 1] }),
          tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 10, activation: 'softmax' }),
        ],
      }),
  },
  {
    name: 'breakhis',
    input: [224, 224, 3],
    classes: 2,
    params: 319106,
    build: (tf) => {
      const bn = () => tf.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3 });
      return tf.sequential({
        layers: [
          tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 4, padding: 'valid', inputShape: [224, 224, 3] }),
          bn(),
          tf.layers.reLU(),
          tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'valid' }),
          bn(),
          tf.layers.reLU(),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'valid' }),
          bn(),
          tf.layers.reLU(),
          tf.layers.flatten(),
          tf.layers.dense({ units: 128, activation: 'relu' }),
          tf.layers.dense({ units: 2, activation: 'softmax' }),
        ],
      });
    },
  },
];

/** Trainable parameters (countParams() counts BatchNorm's moving statistics too). */
export function trainableParams(model) {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
}
