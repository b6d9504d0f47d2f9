// Run in an app that installed only the SDK: the Node-only helpers say which optional package to install.
import { decodeImage, loadMnist } from '@lite-cnn/sdk';

const messages = {};
for (const [name, call] of [
  ['decodeImage', () => decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), { shape: [2, 2, 3] })],
  ['loadMnist', () => loadMnist()],
]) {
  try {
    await call();
    messages[name] = 'no error';
  } catch (err) {
    messages[name] = `${err.name}: ${err.message}`;
  }
}
console.log(JSON.stringify(messages));
