// ResNet-18 and MobileNetV2 (torchvision's structure, 224x224) in lite-cnn
// against PyTorch (torchvision) and onnxruntime-web (inference), 1 and 2
// threads, in one run. A benchmark, not a test: it prints markdown and writes
// it into benches/README.md between <!-- zoo:begin --> and <!-- zoo:end -->.
//   npm run bench:zoo              (builds first)
//   node benches/zoo/run.mjs --quick | --no-write | --only resnet18
// Ratios are peer time / lite-cnn time at the same thread count (> 1: lite-cnn
// is faster); "tune/fwd" is a frozen-backbone fine-tuning step over a
// training-mode forward pass at batch 32 (target: at most 1.2).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, saveSection } from '../readme-section.mjs';
import { quick } from '../peers/measure.mjs';
import { NETS, onlyArgs } from './nets.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = '/usr/bin/python3';
const q = [...(quick ? ['--quick'] : []), ...onlyArgs];

function child(cmd, args, what) {
  console.error(`\n== ${what}`);
  const r = spawnSync(cmd, args, { cwd: HERE, encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last?.startsWith('{')) return { skipped: `${what} failed (exit ${r.status ?? r.signal})` };
  return JSON.parse(last);
}

const lite = [1, 2].map((t) => child(process.execPath, ['lite.mjs', '--threads', String(t), ...q], `lite-cnn, ${t} thread(s)`));
const torchOk = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(os.tmpdir(), 'lite-cnn-zoo-'));
const torch = torchOk ? child(PYTHON, ['torch_zoo.py', '--onnx', dir, ...q], 'PyTorch (torchvision)') : { skipped: 'python3-torch / torchvision missing' };
const ort = [1, 2].map((t) => (torch.skipped ? { skipped: 'no ONNX models (exported with PyTorch)' } : child(process.execPath, ['ort.mjs', '--threads', String(t), '--models', dir, ...q], `onnxruntime-web, ${t} thread(s)`)));
rmSync(dir, { recursive: true, force: true });

const ms = (r) => (r && typeof r.ms === 'number' ? r.ms : null);
const ratio = (peer, ours) => (peer && ours ? `${(peer / ours).toFixed(2)}x` : '—');
const lines = [
  `Run ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores${quick ? ' (quick)' : ''}. Median ms; ratio = peer / lite-cnn.`,
  '',
  '| net | threads | lite-cnn b1 | PyTorch b1 | ORT b1 | lite-cnn b32 | PyTorch b32 | ORT b32 | lite-cnn tune b32 | PyTorch tune b32 | lite-cnn tune/fwd |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const net of NETS) {
  for (const t of [1, 2]) {
    const L = lite[t - 1]?.results?.find((r) => r.net === net.name) ?? {};
    const P = torch.results?.find((r) => r.net === net.name && r.threads === t) ?? {};
    const O = ort[t - 1]?.results?.find((r) => r.net === net.name) ?? {};
    const cell = (ours, peer) => `${fmt(ms(peer))} (${ratio(ms(peer), ms(ours))})`;
    lines.push(
      `| ${net.name} | ${t} | ${fmt(ms(L.infer1))} | ${cell(L.infer1, P.infer1)} | ${cell(L.infer1, O.infer1)} | ${fmt(ms(L.infer32))} | ${cell(L.infer32, P.infer32)} | ${cell(L.infer32, O.infer32)} | ${fmt(ms(L.tune32))} | ${cell(L.tune32, P.tune32)} | ${ms(L.tune32) && ms(L.forward32) ? (ms(L.tune32) / ms(L.forward32)).toFixed(2) : '—'} |`,
    );
  }
}
for (const [what, r] of [['PyTorch', torch], ['onnxruntime-web 1t', ort[0]], ['onnxruntime-web 2t', ort[1]]]) if (r?.skipped) lines.push('', `${what}: skipped (${r.skipped})`);
const text = lines.join('\n');
console.log(text);
saveSection('zoo', `### Zoo: ResNet-18 and MobileNetV2 (\`npm run bench:zoo\`)\n\n${text}`);
