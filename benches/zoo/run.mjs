// ResNet-18 and MobileNetV2 (torchvision's structure, 224x224) in lite-cnn
// against PyTorch (torchvision) and onnxruntime-web (inference), 1 and 2
// threads, in one run. A benchmark, not a test: it prints markdown and writes
// it into benches/README.md between <!-- zoo:begin --> and <!-- zoo:end -->.
//   npm run bench:zoo              (builds first)
//   node benches/zoo/run.mjs --quick | --no-write | --only resnet18 | --rounds N | --stages
// --stages adds ResNet-18's inference time per stage (stem, layer1-4, head) on
// both sides: where the whole-network ratio comes from.
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
import { NETS, onlyArgs, RESNET_STAGES, stages } from './nets.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const USAGE = 'usage: node benches/zoo/run.mjs [--quick] [--no-write] [--only resnet18|mobilenetv2] [--rounds N] [--stages]';
// A run takes minutes: refuse what it does not know (and print the usage for --help) before starting one.
{
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--only' || args[i] === '--rounds') i++;
    else if (!['--quick', '--no-write', '--stages'].includes(args[i])) {
      console.error(`bench:zoo: unknown option ${args[i]}\n${USAGE}`);
      process.exit(2);
    }
  }
}
const PYTHON = '/usr/bin/python3';
const q = [...(quick ? ['--quick'] : []), ...onlyArgs, ...(stages ? ['--stages'] : [])];

function child(cmd, args, what) {
  console.error(`\n== ${what}`);
  const r = spawnSync(cmd, args, { cwd: HERE, encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last?.startsWith('{')) return { skipped: `${what} failed (exit ${r.status ?? r.signal})` };
  return JSON.parse(last);
}

// Rounds (--rounds N; 3, or 1 with --quick): lite-cnn and PyTorch alternate,
// one thread count at a time, so the host's drift over minutes hits both
// sides of a ratio alike; a ratio is taken within each round and the median
// of the rounds' ratios reported. onnxruntime-web runs in the first round
// only (it needs the ONNX files PyTorch exports there, and its ratios are
// far from 1).
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : quick ? 1 : 3;
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds must be a positive integer, got ${process.argv[roundsAt + 1]}`);
const THREADS = [1, 2];
const torchOk = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(os.tmpdir(), 'lite-cnn-zoo-'));
const rounds = []; // rounds[i][t] = { lite, torch }
const ort = {};
let onnxExported = false;
for (let i = 0; i < ROUNDS; i++) {
  const round = {};
  for (const t of THREADS) {
    const lite = child(process.execPath, ['lite.mjs', '--threads', String(t), ...q], `round ${i + 1}: lite-cnn, ${t} thread(s)`);
    const exportOnnx = i === 0 && t === THREADS[0] ? ['--onnx', dir] : [];
    const torch = torchOk ? child(PYTHON, ['torch_zoo.py', '--threads', String(t), ...exportOnnx, ...q], `round ${i + 1}: PyTorch (torchvision), ${t} thread(s)`) : { skipped: 'python3-torch / torchvision missing' };
    onnxExported ||= exportOnnx.length > 0 && !torch.skipped;
    if (i === 0) {
      ort[t] = onnxExported ? child(process.execPath, ['ort.mjs', '--threads', String(t), '--models', dir, ...q], `onnxruntime-web, ${t} thread(s)`) : { skipped: 'no ONNX models (exported with PyTorch)' };
    }
    round[t] = { lite, torch };
  }
  rounds.push(round);
}
rmSync(dir, { recursive: true, force: true });

const ms = (r) => (r && typeof r.ms === 'number' ? r.ms : null);
const result = (r, net, t) => r?.results?.find((x) => x.net === net && (x.threads === undefined || x.threads === t)) ?? {};
/** Median of the non-null values, or null. */
const mid = (xs) => {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : null;
};
const ratioOf = (peer, ours) => (peer !== null && ours !== null ? peer / ours : null);
const x = (r) => (r === null ? '—' : `${r.toFixed(2)}x`);
const lines = [
  `Run ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores${quick ? ' (quick)' : ''}, ${ROUNDS} round(s) of lite-cnn then PyTorch per thread count (onnxruntime-web in the first). Median ms over rounds; ratio = peer / lite-cnn, the median of the rounds' ratios.`,
  '',
  '| net | threads | lite-cnn b1 | PyTorch b1 | ORT b1 | lite-cnn b32 | PyTorch b32 | ORT b32 | lite-cnn tune b32 | PyTorch tune b32 | lite-cnn tune/fwd |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
const perRound = [];
for (const net of NETS) {
  for (const t of THREADS) {
    const L = rounds.map((r) => result(r[t].lite, net.name, t));
    const P = rounds.map((r) => result(r[t].torch, net.name, t));
    const O = result(ort[t], net.name, t);
    const ours = (m) => mid(L.map((l) => ms(l[m])));
    const torchCell = (m) => {
      const ratios = L.map((l, i) => ratioOf(ms(P[i][m]), ms(l[m])));
      return { text: `${fmt(mid(P.map((p) => ms(p[m]))))} (${x(mid(ratios))})`, ratios };
    };
    const ortCell = (m) => `${fmt(ms(O[m]))} (${x(ratioOf(ms(O[m]), ms(L[0][m])))})`;
    const [p1, p32, pt] = ['infer1', 'infer32', 'tune32'].map(torchCell);
    const tuneFwd = mid(L.map((l) => (ms(l.tune32) && ms(l.forward32) ? ms(l.tune32) / ms(l.forward32) : null)));
    lines.push(
      `| ${net.name} | ${t} | ${fmt(ours('infer1'))} | ${p1.text} | ${ortCell('infer1')} | ${fmt(ours('infer32'))} | ${p32.text} | ${ortCell('infer32')} | ${fmt(ours('tune32'))} | ${pt.text} | ${tuneFwd === null ? '—' : tuneFwd.toFixed(2)} |`,
    );
    perRound.push(`| ${net.name} | ${t} | ${[p1, p32, pt].map((c) => c.ratios.map((r) => (r === null ? '—' : r.toFixed(2))).join(', ')).join(' | ')} |`);
  }
}
if (ROUNDS > 1) lines.push('', 'PyTorch / lite-cnn in each round, to show the drift:', '', '| net | threads | b1 | b32 | tune b32 |', '|---|---|---|---|---|', ...perRound);
const torchSkip = rounds[0][THREADS[0]].torch;
for (const [what, r] of [['PyTorch', torchSkip], ['onnxruntime-web 1t', ort[1]], ['onnxruntime-web 2t', ort[2]]]) if (r?.skipped) lines.push('', `${what}: skipped (${r.skipped})`);
if (stages && NETS.some((n) => n.name === 'resnet18')) lines.push('', ...stageTable());
const text = lines.join('\n');
console.log(text);
saveSection('zoo', `### Zoo: ResNet-18 and MobileNetV2 (\`npm run bench:zoo\`)\n\n${text}`);

/** ResNet-18's inference per stage: median ms over rounds and the median of the rounds' ratios. */
function stageTable() {
  const out = [
    "ResNet-18 inference per stage (`--stages`: lite-cnn's `Model.profile`, the fused pass's steps; PyTorch's forward hooks on torchvision's top-level modules), ms and PyTorch / lite-cnn:",
    '',
    '| threads | stage | lite-cnn b1 | PyTorch b1 | lite-cnn b32 | PyTorch b32 |',
    '|---|---|---|---|---|---|',
  ];
  for (const t of THREADS) {
    const L = rounds.map((r) => result(r[t].lite, 'resnet18', t).stages);
    const P = rounds.map((r) => result(r[t].torch, 'resnet18', t).stages);
    const cell = (batch, stage) => {
      const ours = L.map((l) => l?.[batch]?.[stage] ?? null);
      const theirs = P.map((p) => p?.[batch]?.[stage] ?? null);
      const ratios = ours.map((o, i) => ratioOf(theirs[i], o));
      return [fmt(mid(ours)), `${fmt(mid(theirs))} (${x(mid(ratios))})`];
    };
    for (const stage of RESNET_STAGES) out.push(`| ${t} | ${stage} | ${[...cell('infer1', stage), ...cell('infer32', stage)].join(' | ')} |`);
  }
  return out;
}
