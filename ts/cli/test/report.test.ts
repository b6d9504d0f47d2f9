import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, History, calibrationMetrics, classificationReport, rocAuc, rocCurve } from '@lite-cnn/sdk';
import {
  confusionMatrixChart,
  learningCurveCharts,
  lineChart,
  renderReport,
  rocChart,
  svgToPng,
  writeReport,
  type ReportData,
} from '../src/report/index.js';

// ---------------------------------------------------------------------------
// A small XML well-formedness check: the charts are fed to librsvg (a strict
// XML parser) and inlined into HTML, so every tag must close, attributes be
// quoted and every `&` start an entity. Not a full parser, but it rejects
// exactly the mistakes string-built SVG tends to make.
// ---------------------------------------------------------------------------
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;

function checkEntities(s: string, where: string): void {
  for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) {
    ENTITY.lastIndex = i;
    if (!ENTITY.test(s)) throw new Error(`bare '&' in ${where}: ${JSON.stringify(s.slice(i, i + 20))}`);
  }
}

function checkXml(xml: string): { root: string; elements: number } {
  const stack: string[] = [];
  let root = '';
  let elements = 0;
  let i = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    const between = xml.slice(i, textEnd);
    if (between.includes('>')) throw new Error(`stray '>' in text: ${JSON.stringify(between.slice(0, 40))}`);
    checkEntities(between, 'text');
    if (stack.length === 0 && between.trim() !== '') throw new Error(`text outside the root element: ${JSON.stringify(between.slice(0, 40))}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 60))}`);
    const [whole, close, name, attrs, selfClose] = m as unknown as [string, string, string, string, string];
    checkEntities(attrs, `attributes of <${name}>`);
    const attrNames = [...attrs.matchAll(/([\w:.-]+)="/g)].map((a) => a[1]);
    if (new Set(attrNames).size !== attrNames.length) throw new Error(`duplicate attribute in <${name}>`);
    if (close) {
      if (attrs || selfClose) throw new Error(`malformed closing tag </${name}>`);
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}>`);
    } else {
      if (stack.length === 0) {
        if (root) throw new Error(`second root element <${name}>`);
        root = name;
      }
      elements++;
      if (!selfClose) stack.push(name);
    }
    i = lt + whole.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (!root) throw new Error('no root element');
  return { root, elements };
}

/** Text content of every <text> element, unescaped. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'),
  );
}

/** The plot frame: the first unfilled rect with a stroke. */
function frame(svg: string): { left: number; top: number; right: number; bottom: number } {
  const m = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/.exec(svg);
  if (!m) throw new Error('no frame');
  const [x, y, w, h] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  return { left: x, top: y, right: x + w, bottom: y + h };
}

/** Every data coordinate drawn: path vertices (stroked, unfilled paths) and circle centres. */
function dataPoints(svg: string): [number, number][] {
  const pts: [number, number][] = [];
  svg = svg.replace(/<g class="legend">[\s\S]*?<\/g>/g, '');
  for (const m of svg.matchAll(/<path d="([^"]+)" fill="none"/g)) {
    for (const p of m[1]!.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)) pts.push([Number(p[1]), Number(p[2])]);
  }
  for (const m of svg.matchAll(/<circle cx="(-?[\d.]+)" cy="(-?[\d.]+)"/g)) pts.push([Number(m[1]), Number(m[2])]);
  return pts;
}

function expectInside(svg: string): void {
  const f = frame(svg);
  const pts = dataPoints(svg);
  expect(pts.length).toBeGreaterThan(0);
  for (const [x, y] of pts) {
    expect(x).toBeGreaterThanOrEqual(f.left - 0.01);
    expect(x).toBeLessThanOrEqual(f.right + 0.01);
    expect(y).toBeGreaterThanOrEqual(f.top - 0.01);
    expect(y).toBeLessThanOrEqual(f.bottom + 0.01);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// ---------------------------------------------------------------------------
// Fixtures: a binary problem with a known report.
// labels 0,0,0,1,1,1,1,1; at 0.5: class 0 → [2 right, 1 as class 1], class 1 → [1 as class 0, 4 right].
// ---------------------------------------------------------------------------
const NAMES = ['benign <b>', 'malignant & co'];
const LABELS = [0, 0, 0, 1, 1, 1, 1, 1];
const P1 = [0.1, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9, 0.95];
const PROBS = P1.flatMap((p) => [1 - p, p]);
const REPORT = classificationReport(LABELS, PROBS, { classes: 2, classNames: NAMES });
const STORED = classificationReport(LABELS, PROBS, { classes: 2, classNames: NAMES, threshold: 0.35 });
const ROC = rocCurve(LABELS, P1);
const AUC = rocAuc(LABELS, P1);

function history(): History {
  const h = new History();
  for (let e = 0; e < 4; e++) {
    h.steps.push({ step: e * 10 + 5, epoch: e, logs: { loss: 1 / (e + 1.5), accuracy: 0.5 + e * 0.1, val_loss: 1.1 / (e + 1.5), val_accuracy: 0.45 + e * 0.1 } });
    h.record(e, { loss: 1 / (e + 2), accuracy: 0.55 + e * 0.1, val_loss: 1.1 / (e + 2), val_accuracy: 0.5 + e * 0.1, lr: e < 2 ? 0.01 : 0.001 });
  }
  return h;
}

function reportData(): ReportData {
  return {
    title: 'Run <seed 1> & friends',
    runInfo: { preset: 'breakhis', epochs: '4', seed: '1', note: 'a <b>bold</b> claim' },
    history: history(),
    stepsPerEpoch: 10,
    evaluation: {
      data: 'test split',
      report: REPORT,
      roc: { fpr: ROC.fpr, tpr: ROC.tpr, auc: AUC },
      thresholds: [{ label: 'stored threshold (recall >= 0.9 on validation)', report: STORED }],
    },
  };
}

describe('lineChart', () => {
  const series = [
    { name: 'train', points: [[1, 0.9], [2, 0.5], [3, 0.31]] as [number, number][] },
    { name: 'val <a> & "b"', points: [[1, 1.2], [2, 0.7], [3, -0.05]] as [number, number][] },
  ];
  const svg = lineChart({ title: 'Loss & <stuff>', xLabel: 'Epoch', yLabel: 'Loss', series });

  it('is well-formed SVG with the series names and escaped text', () => {
    expect(checkXml(svg).root).toBe('svg');
    expect(svg).toContain('width="640" height="420"');
    const t = texts(svg);
    expect(t).toContain('train');
    expect(t).toContain('val <a> & "b"');
    expect(t).toContain('Loss & <stuff>');
    expect(svg).toContain('val &lt;a&gt; &amp; &quot;b&quot;');
    expect(svg).not.toContain('<a>');
  });

  it('has axes whose ticks cover the data, and draws every point inside the plot', () => {
    const numbers = texts(svg).map(Number).filter((v, i, a) => Number.isFinite(v) && a.indexOf(v) === i);
    // y ticks are the numbers with decimals here (x ticks are whole epochs).
    expect(Math.min(...numbers)).toBeLessThanOrEqual(-0.05);
    expect(Math.max(...numbers)).toBeGreaterThanOrEqual(1.2);
    expectInside(svg);
  });

  it('breaks lines at non-finite values and honours yRange', () => {
    const s = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 'loss', points: [[1, 0.5], [2, Number.NaN], [3, 0.4], [4, 0.3]] }],
      yRange: [0, 1],
    });
    checkXml(s);
    expect(s).not.toMatch(/NaN|Infinity/);
    const d = /<path d="([^"]+)" fill="none"/.exec(s)![1]!;
    expect(d.match(/M/g)).toHaveLength(2);
    const t = texts(s);
    expect(t).toContain('0.0');
    expect(t).toContain('1.0');
  });

  it('handles a flat series and a single point', () => {
    const s = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[1, 0.7]] }] });
    checkXml(s);
    expectInside(s);
    expect(s).toContain('<circle');
  });
});

describe('confusionMatrixChart', () => {
  const m = [
    [50, 7],
    [5, 120],
  ];

  it('is well-formed, prints counts and escaped class names', () => {
    const svg = confusionMatrixChart(m, ['a<b', 'x&y']);
    expect(checkXml(svg).root).toBe('svg');
    const t = texts(svg);
    for (const v of ['50', '7', '5', '120', 'a<b', 'x&y', 'True class', 'Predicted class']) expect(t).toContain(v);
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('x&amp;y');
  });

  it('normalizes by true class: shares printed, the darkest cell is the largest share', () => {
    const svg = confusionMatrixChart(m, ['neg', 'pos'], { normalize: true });
    checkXml(svg);
    const t = texts(svg);
    expect(t).toContain('87.7%');
    expect(t).toContain('96.0%');
    expect(t).toContain('100%');
  });

  it('scales to many classes and long names', () => {
    const n = 10;
    const big = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1000 + i : i + j)));
    const names = Array.from({ length: n }, (_, i) => `a very long class name number ${i}`);
    const svg = confusionMatrixChart(big, names);
    checkXml(svg);
    expect(svg).toContain('…');
    expect(texts(svg)).toContain('1009');
  });

  it('rejects a matrix that does not match the class names', () => {
    expect(() => confusionMatrixChart([[1, 2]], ['a', 'b'])).toThrow(ConfigError);
    expect(() => confusionMatrixChart([[1, -1], [0, 1]], ['a', 'b'])).toThrow(ConfigError);
  });
});

describe('rocChart', () => {
  it('is well-formed with the curve name, AUC, the chance diagonal and markers', () => {
    const svg = rocChart([{ name: 'test <split>', fpr: ROC.fpr, tpr: ROC.tpr, auc: AUC }], {
      markers: [{ name: 'threshold 0.5', fpr: 1 / 3, tpr: 0.8 }],
    });
    expect(checkXml(svg).root).toBe('svg');
    const t = texts(svg);
    expect(t).toContain(`test <split> (AUC = ${AUC.toFixed(3)})`);
    expect(t).toContain('chance (AUC = 0.500)');
    expect(t).toContain('threshold 0.5');
    // The chance diagonal runs from (0, 0) to (1, 1) at 45° (a square plot), inside the frame.
    const f = frame(svg);
    expect(f.right - f.left).toBeCloseTo(f.bottom - f.top, 5);
    const diag = /<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"[^>]*stroke-dasharray/.exec(svg)!.slice(1).map(Number) as [number, number, number, number];
    const [x1, y1, x2, y2] = diag;
    expect(x2 - x1).toBeCloseTo(y1 - y2, 1);
    expect(x1).toBeGreaterThanOrEqual(f.left);
    expect(x1 - f.left).toBeLessThan(10);
    expect(f.right - x2).toBeLessThan(10);
    // The curve starts at (0, 0) and ends at (1, 1): the ends of the diagonal.
    const d = /<path d="([^"]+)" fill="none"/.exec(svg)![1]!;
    expect(d.startsWith(`M${x1} ${y1}`)).toBe(true);
    expect(d.endsWith(`L${x2} ${y2}`)).toBe(true);
    expectInside(svg);
  });

  it('keeps a long curve small by dropping interior points of straight runs', () => {
    const n = 2000;
    const fpr = [0, ...Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : (i - n / 2 + 1) / (n / 2)))];
    const tpr = [0, ...Array.from({ length: n }, (_, i) => (i < n / 2 ? (i + 1) / (n / 2) : 1))];
    const svg = rocChart([{ name: 'perfect', fpr, tpr, auc: 1 }]);
    checkXml(svg);
    expect(svg.length).toBeLessThan(8000);
  });
});

describe('learningCurveCharts', () => {
  it('draws train and validation, mid-epoch points only with stepsPerEpoch, lr only when it changes', () => {
    const h = history();
    const without = learningCurveCharts(h);
    expect(texts(without.loss!)).toEqual(expect.arrayContaining(['train', 'validation']));
    expect(without.loss).not.toContain('mid-epoch');
    const withSteps = learningCurveCharts(h, { stepsPerEpoch: 10 });
    expect(texts(withSteps.accuracy!)).toContain('validation (mid-epoch)');
    expect(withSteps.lr).toBeDefined();
    const flat = new History();
    flat.record(0, { loss: 1, lr: 0.1 });
    flat.record(1, { loss: 0.5, lr: 0.1 });
    const c = learningCurveCharts(flat);
    expect(c.lr).toBeUndefined();
    expect(c.accuracy).toBeUndefined();
    expect(c.loss).toBeDefined();
    for (const s of [without.loss, withSteps.loss, withSteps.accuracy, withSteps.lr]) checkXml(s!);
  });
});

describe('svgToPng', () => {
  it('renders a valid opaque PNG of the chart size, with text drawn', async () => {
    const svg = lineChart({ title: 'TITLE TEXT', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[0, 0], [1, 1]] }] });
    const png = await svgToPng(svg);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const meta = await sharp(png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 640, height: 420 });
    // The title's strip holds dark pixels only if librsvg found a font and drew the text.
    const { data, info } = await sharp(png).extract({ left: 220, top: 8, width: 200, height: 22 }).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(info.width * info.height).toBe(data.length);
    expect(Math.min(...data)).toBeLessThan(80);
    // The background is white, not transparent.
    const corner = await sharp(png).extract({ left: 0, top: 0, width: 4, height: 4 }).raw().toBuffer();
    expect(Math.min(...corner)).toBe(255);
  });

  it('scales', async () => {
    const png = await svgToPng(rocChart([{ name: 'a', fpr: [0, 1], tpr: [0, 1] }]), { scale: 2 });
    expect(await sharp(png).metadata()).toMatchObject({ width: 1280, height: 840 });
    await expect(svgToPng('<svg', {})).rejects.toThrow();
    await expect(svgToPng('<svg/>', { scale: 0 })).rejects.toThrow(ConfigError);
  });
});

describe('renderReport', () => {
  const html = renderReport(reportData());

  it('is one self-contained page with every section', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const id of ['summary', 'curves', 'metrics', 'confusion', 'roc', 'thresholds']) expect(html).toContain(`<section id="${id}">`);
    expect(html).not.toMatch(/<script|<link|src="http|href="http|url\(/i);
    // Every inline chart is well-formed SVG.
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).toBe(2 + 1 + 2 + 1); // loss, accuracy, lr; two confusion matrices; ROC
    for (const s of svgs) checkXml(s);
  });

  it('shows the numbers of the classification report', () => {
    // Known values: class 0 precision 2/3, recall 2/3; class 1 precision 4/5, recall 4/5; accuracy 6/8.
    expect(REPORT.perClass.map((m) => m.precision)).toEqual([2 / 3, 4 / 5]);
    const metrics = /<section id="metrics">[\s\S]*?<\/section>/.exec(html)![0];
    for (const v of ['0.6667', '0.8000', '0.7500', '>3<', '>5<', '>8<']) expect(metrics).toContain(v);
    expect(metrics).toContain('benign &lt;b&gt;');
    expect(metrics).toContain('malignant &amp; co');
    expect(metrics).toContain(REPORT.weightedAvg.f1.toFixed(4));
    expect(html).toContain(AUC.toFixed(4));
  });

  it('lists metrics at 0.5 and at the stored threshold', () => {
    const t = /<section id="thresholds">[\s\S]*?<\/section>/.exec(html)![0];
    expect(t).toContain('>0.5<');
    expect(t).toContain('>0.35<');
    expect(t).toContain('stored threshold (recall &gt;= 0.9 on validation)');
    expect(t).toContain(STORED.accuracy.toFixed(4));
    expect(t).toContain(STORED.perClass[1]!.recall.toFixed(4));
  });

  it('escapes the title and run info', () => {
    expect(html).toContain('<title>Run &lt;seed 1&gt; &amp; friends</title>');
    expect(html).toContain('a &lt;b&gt;bold&lt;/b&gt; claim');
    expect(html).not.toContain('<b>');
  });

  it('works without history, ROC or thresholds (multi-class, evaluation only)', () => {
    const labels = [0, 1, 2, 2];
    const probs = [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7, 0.6, 0.2, 0.2];
    const report = classificationReport(labels, probs, { classes: 3 });
    const h = renderReport({ title: 't', runInfo: {}, evaluation: { report } });
    expect(h).toContain('No training history');
    expect(h).not.toContain('<section id="roc">');
    expect(h).not.toContain('<section id="thresholds">');
    expect(h).toContain('<section id="confusion">');
  });
});

describe('the calibration section', () => {
  const labels = [0, 0, 1, 1, 1, 0];
  const probs = [0.9, 0.1, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.05, 0.95, 0.55, 0.45];
  const report = classificationReport(labels, probs, { classes: 2 });
  const metrics = calibrationMetrics(labels, probs, { outputs: 2 });

  it('shows the figures and a well-formed reliability diagram, the network\'s own outputs beside a stored calibration', () => {
    const uncalibrated = calibrationMetrics(labels, probs.map((p) => (p > 0.5 ? 0.99 : 0.01)), { outputs: 2 });
    const h = renderReport({ title: 't', runInfo: {}, evaluation: { report, calibration: { metrics, uncalibrated, stored: 'temperature 1.5000' } } });
    expect(h).toContain('<a href="#calibration">Calibration</a>');
    expect(h).toContain(`Probabilities calibrated by the model&#39;s stored temperature 1.5000: ECE ${(metrics.ece * 100).toFixed(1)}%`);
    expect(h).toContain('the network&#39;s own outputs: ECE');
    const svg = h.slice(h.indexOf('<section id="calibration">'), h.indexOf('</section>', h.indexOf('<section id="calibration">')));
    expect(svg).toContain('Reliability diagram (15 confidence bins)');
    expect(svg).toContain('perfectly calibrated');
    expect(checkXml(svg.slice(svg.indexOf('<svg'), svg.indexOf('</svg>') + 6)).root).toBe('svg');
  });

  it('is absent without calibration figures', () => {
    expect(renderReport({ title: 't', runInfo: {}, evaluation: { report } })).not.toContain('id="calibration"');
  });
});

describe('writeReport', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('writes report.html and the four PNGs, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lite-cnn-report-'));
    dirs.push(dir);
    const out = join(dir, 'run');
    const written = await writeReport(out, reportData());
    const expected = ['accuracy.png', 'confusion_matrix.png', 'loss.png', 'report.html', 'roc.png'];
    expect((await readdir(out)).sort()).toEqual(expected);
    expect(written.map((p) => p.slice(out.length + 1)).sort()).toEqual(expected);
    for (const f of expected.filter((f) => f.endsWith('.png'))) {
      expect(await sharp(join(out, f)).metadata()).toMatchObject({ format: 'png', width: 640, height: 420 });
    }
    expect(await readFile(join(out, 'report.html'), 'utf8')).toBe(renderReport(reportData()));
    // A second run replaces the files in place, leaving no temporaries.
    await writeReport(out, reportData());
    expect((await readdir(out)).sort()).toEqual(expected);
  });

  it('leaves out the charts it has no data for', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lite-cnn-report-'));
    dirs.push(dir);
    await writeReport(dir, { title: 't', runInfo: {}, evaluation: { report: REPORT } });
    expect((await readdir(dir)).sort()).toEqual(['confusion_matrix.png', 'report.html']);
  });
});
