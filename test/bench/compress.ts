import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { projectRoot } from '../../agent/paths.ts';
import { type RecompressOptions, recompressModelDir } from '../../models/factory/recompress.ts';
import { type Row, runJsonStep, snipsDir, writeResult } from './harness.ts';

const data = snipsDir();
const [train, dev, test] = ['train', 'dev', 'test'].map((s) => resolve(data, `${s}.jsonl`)) as [
  string,
  string,
  string,
];
const shipped = resolve(projectRoot, 'models/snips');
const sling = resolve(projectRoot, 'agent/sling.js');
const work = process.env.SLING_BENCH_DIR ?? join(tmpdir(), 'sling-bench-compress');
mkdirSync(work, { recursive: true });

const run = runJsonStep;

interface Eval {
  metrics: { intentAccuracy: number; slotF1: number; exactMatch: number };
  latencyMs: { p50: number; p99: number };
  peakRssMiB: number;
  modelBytes: number;
}

const rows: Row[] = [];
const evaluate = (dir: string, data: string, label: string, fp32: boolean) =>
  run(
    [sling, 'eval', '--model', dir, '--data', data, '--json', ...(fp32 ? ['--fp32'] : [])],
    label,
  ) as unknown as Eval;
const pct = (v: number) => +(v * 100).toFixed(2);
// rows of trained configurations not rebuilt in this run come from the previous results file, marked as such
const resultsFile = resolve(projectRoot, 'test/bench/results/compress.json');
const previous = existsSync(resultsFile)
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { rows: Row[]; machine?: { date?: string } })
  : undefined;
const carry = (config: string): boolean => {
  const row = previous?.rows.find((r) => r.config === config);
  if (!row) return false;
  const from = String(row.how).includes('(carried from')
    ? ''
    : ` (carried from ${previous?.machine?.date?.slice(0, 10)})`;
  rows.push({ dev_slot_f1: null, dev_exact_pct: null, packed_bytes: null, ...row, how: `${row.how}${from}` });
  return true;
};

/**
 * Everything the parser loads, compressed: the graph plus `manifest.json`, which holds the CRF transitions and the
 * gazetteer outside the graph's bytes (a slot-gazetteer model's is ~200 KB of JSON), each gzip -9.
 */
const packedBytes = (dir: string, fp32: boolean): number =>
  [fp32 ? 'model.fp32.onnx' : 'model.onnx', 'manifest.json']
    .map((file) => gzipSync(readFileSync(join(dir, file)), { level: 9 }).byteLength)
    .reduce((a, b) => a + b, 0);

/** SLING_BENCH_ONLY=<text>: score only the configurations whose name contains it, carry the others' rows. */
const only = process.env.SLING_BENCH_ONLY;
const score = (config: string, dir: string, how: string, fp32 = false) => {
  if (only && !config.includes(only)) {
    carry(config);
    return;
  }
  const e = evaluate(dir, test, config, fp32);
  const d = evaluate(dir, dev, `${config} (dev)`, fp32);
  rows.push({
    config,
    how,
    model_bytes: e.modelBytes,
    packed_bytes: packedBytes(dir, fp32),
    intent_acc_pct: pct(e.metrics.intentAccuracy),
    slot_f1: pct(e.metrics.slotF1),
    exact_match_pct: pct(e.metrics.exactMatch),
    dev_slot_f1: pct(d.metrics.slotF1),
    dev_exact_pct: pct(d.metrics.exactMatch),
    p50_ms: +e.latencyMs.p50.toFixed(4),
    p99_ms: +e.latencyMs.p99.toFixed(4),
    peak_rss_mib: Math.round(e.peakRssMiB),
  });
};
score('teacher fp32 (models/snips twin)', shipped, '96 ch, 3 layers, bench:nlu', true);
const shippedOpset = JSON.parse(readFileSync(join(shipped, 'manifest.json'), 'utf8')).model.opset as number;
score(
  'teacher int8 (models/snips)',
  shipped,
  shippedOpset >= 21 ? 'as shipped: int8 per channel + int4 embedding' : 'int8 per channel',
);
const post: [string, RecompressOptions][] = [
  ['int4 embedding', { embeddingBits: 4 }],
  ['magnitude 50%', { sparsity: 0.5 }],
  ['magnitude 80%', { sparsity: 0.8 }],
  ['channels 96→64', { keepChannels: 64 }],
  ['magnitude 50% + int4', { sparsity: 0.5, embeddingBits: 4 }],
];
for (const [name, options] of post) {
  const dir = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  recompressModelDir(shipped, dir, options);
  score(name, dir, 'post-training, no fine-tuning');
}

// configurations trained (or fine-tuned) with sling train; SLING_BENCH_TRAIN=1 trains the missing ones
const tiny = ['--hidden', '48', '--dim', '32', '--embedding-bits', '4', '--teacher', shipped];
const trained: [string, string[], string][] = [
  ['student 48 ch from scratch', ['--hidden', '48', '--epochs', '6'], '48 ch, ≤ 6 epochs'],
  [
    'student 48 ch distilled',
    ['--hidden', '48', '--epochs', '6', '--teacher', shipped],
    '48 ch, ≤ 6 epochs, T 2, alpha 0.5',
  ],
  [
    'student 48 ch from scratch, seed 2',
    ['--hidden', '48', '--epochs', '6', '--seed', '2'],
    '48 ch, ≤ 6 epochs, seed 2',
  ],
  [
    'student 48 ch distilled, seed 2',
    ['--hidden', '48', '--epochs', '6', '--seed', '2', '--teacher', shipped],
    '48 ch, ≤ 6 epochs, T 2, alpha 0.5, seed 2',
  ],
  [
    'channels 96→64 + fine-tuning',
    ['--init', shipped, '--keep-channels', '64', '--prune-epochs', '2', '--teacher', shipped],
    'models/snips pruned to 64 channels, 2 epochs fine-tuning distilled from itself',
  ],
  [
    'magnitude 80% + fine-tuning',
    [
      '--init',
      shipped,
      '--sparsity',
      '0.8',
      '--prune-steps',
      '2',
      '--prune-epochs',
      '1',
      '--teacher',
      shipped,
    ],
    'models/snips, 40 % then 80 % of each weight matrix zeroed, 1 epoch fine-tuning after each, distilled',
  ],
  [
    'tiny distilled (8192 × 32, int4)',
    [...tiny, '--buckets', '8192', '--epochs', '6'],
    '48 ch, 8192 buckets × 32, int4 embedding, distilled, ≤ 6 epochs',
  ],
  [
    'tiny 8192 × 32, 14 epochs',
    [...tiny, '--buckets', '8192', '--epochs', '14'],
    'as above, ≤ 14 epochs (fp32 row scales: built before the fp16 change)',
  ],
  [
    'tiny 8192 × 32 + augment, 14 epochs',
    [...tiny, '--buckets', '8192', '--epochs', '14', '--teacher-augment', '1'],
    'as above + 1 teacher-labelled variant per sentence (frames, fillers, typos, ASR-like errors, slot swaps)',
  ],
  [
    'tiny 8192 × 32 from scratch, 14 epochs',
    ['--hidden', '48', '--dim', '32', '--embedding-bits', '4', '--buckets', '8192', '--epochs', '14'],
    'same student, no teacher (worker-thread trainer)',
  ],
  [
    'tiny 11776 × 32 + augment',
    [...tiny, '--buckets', '11776', '--epochs', '12', '--teacher-augment', '1'],
    '48 ch, 11776 buckets × 32, int4 + fp16 scales, distilled, 1 teacher-labelled variant per sentence, ≤ 12 epochs',
  ],
];
// the slot-gazetteer models/snips of the nlu branch (test F1 93.82) and a tiny student distilled from it; the
// bench reads them from the bench directory (they are not in this branch), or carries their rows
const gazetteerTeacher = join(work, 'slot-gazetteer-models-snips-nlu-branch');
for (const [name, dir, how] of [
  ['slot-gazetteer models/snips (nlu branch)', gazetteerTeacher, 'int8, --slot-gazetteer, 96 ch'],
  ['slot-gazetteer models/snips + int4', `${gazetteerTeacher}-int4`, 'post-training int4 embedding'],
] as const) {
  if (!existsSync(join(gazetteerTeacher, 'manifest.json'))) {
    carry(name);
    continue;
  }
  if (dir !== gazetteerTeacher) recompressModelDir(gazetteerTeacher, dir, { embeddingBits: 4 });
  score(name, dir, how);
}
trained.push([
  'tiny 8192 × 32 + augment, slot-gazetteer teacher',
  [...tiny.slice(0, -1), gazetteerTeacher, '--buckets', '8192', '--epochs', '14', '--teacher-augment', '1'],
  'as "tiny 8192 × 32 + augment", distilled from the slot-gazetteer models/snips',
]);
// a second seed of the same student, from scratch and distilled, so the distillation gain is not one draw
const tinyScratch = ['--hidden', '48', '--dim', '32', '--embedding-bits', '4', '--buckets', '8192'];
/** A 14-epoch student distilled with teacher-labelled variants. */
const distilled = (student: string[], teacher: string, variants: number, seed = 1) => [
  ...student,
  '--teacher',
  teacher,
  '--epochs',
  '14',
  '--teacher-augment',
  String(variants),
  ...(seed === 1 ? [] : ['--seed', String(seed)]),
];
/** One distilled recipe with 1 teacher-labelled variant per sentence, trained with each of `seeds`. */
const seededRows = (
  name: string,
  student: string[],
  teacher: string,
  how: string,
  seeds: number[],
): [string, string[], string][] =>
  seeds.map((seed) =>
    seed === 1
      ? [name, distilled(student, teacher, 1), how]
      : [`${name}, seed ${seed}`, distilled(student, teacher, 1, seed), `as the row above, seed ${seed}`],
  );
const wide = ['--hidden', '64', '--dim', '40', '--embedding-bits', '4', '--buckets', '8192'];
trained.push(
  [
    'tiny 8192 × 32 from scratch, seed 2',
    [...tinyScratch, '--epochs', '14', '--seed', '2'],
    'same student, no teacher, seed 2',
  ],
  [
    'tiny 8192 × 32 + augment, slot-gazetteer teacher, seed 2',
    distilled(tinyScratch, gazetteerTeacher, 1, 2),
    'as "tiny 8192 × 32 + augment, slot-gazetteer teacher", seed 2',
  ],
  ...seededRows(
    'tiny 8192 × 40, 64 ch + augment, slot-gazetteer teacher',
    wide,
    gazetteerTeacher,
    'the ≤ 250 KB budget spent on width: 64 ch, 40-dim embedding, distilled from the slot-gazetteer models/snips with 1 teacher-labelled variant per sentence',
    [1, 2, 3, 4],
  ),
  [
    'tiny 8192 × 32 + 2 variants, slot-gazetteer teacher',
    distilled(tinyScratch, gazetteerTeacher, 2),
    'as "tiny 8192 × 32 + augment, slot-gazetteer teacher" with 2 teacher-labelled variants per sentence',
  ],
  [
    'tiny 8192 × 32 + augment, ensemble teacher',
    distilled(tinyScratch, `${shipped},${gazetteerTeacher}`, 1),
    'as "tiny 8192 × 32 + augment, slot-gazetteer teacher", distilled from models/snips and the slot-gazetteer model together (outputs averaged)',
  ],
);
// the ≤ 250 KB budget spent on width to the last byte: 76 channels (249,515 bytes), distilled from the shipped
// models/snips, and from an ensemble of the shipped recipe's seeds 1–4 (models/README.md run 14; seeds 2–4 are
// read from the bench directory: snips-recipe-seed-<n>, `sling train` with bench:nlu's flags and --seed n)
const widest = ['--hidden', '76', '--dim', '40', '--embedding-bits', '4', '--buckets', '8192'];
const seedEnsemble = [gazetteerTeacher, ...[2, 3, 4].map((n) => join(work, `snips-recipe-seed-${n}`))].join(
  ',',
);
trained.push(
  ...seededRows(
    'tiny 8192 × 40, 76 ch + augment, shipped teacher',
    widest,
    shipped,
    'the ≤ 250 KB budget spent on width to the last byte: 76 ch, 40-dim embedding, distilled from the shipped models/snips with 1 teacher-labelled variant per sentence',
    [1, 2, 3],
  ),
  ...seededRows(
    'tiny 8192 × 40, 76 ch + augment, 4-seed ensemble teacher',
    widest,
    seedEnsemble,
    'as "tiny 8192 × 40, 76 ch + augment, shipped teacher", distilled from the shipped recipe trained with seeds 1–4 (outputs averaged)',
    [1, 2],
  ),
);
// round 3 (models/README.md): more weight on the teacher, the rows × dim split moved to 48-dim rows, and the
// same 76-channel student from scratch (for "distilled beats scratch" at this size)
trained.push(
  [
    'tiny 8192 × 40, 76 ch + augment, shipped teacher, alpha 0.8',
    [...distilled(widest, shipped, 1), '--alpha', '0.8'],
    'as "tiny 8192 × 40, 76 ch + augment, shipped teacher", soft loss weight 0.8 instead of 0.5',
  ],
  [
    'tiny 6784 × 48, 76 ch + augment, shipped teacher',
    distilled(['--hidden', '76', '--dim', '48', '--embedding-bits', '4', '--buckets', '6784'], shipped, 1),
    'as "tiny 8192 × 40, 76 ch + augment, shipped teacher" with 6784 buckets × 48 dims (247,497 bytes)',
  ],
  [
    'tiny 8192 × 40, 76 ch + 2 variants, shipped teacher',
    distilled(widest, shipped, 2),
    'as "tiny 8192 × 40, 76 ch + augment, shipped teacher" with 2 teacher-labelled variants per sentence',
  ],
  [
    'tiny 8192 × 40, 76 ch from scratch',
    [...widest, '--epochs', '14'],
    'the 76-channel 8192 × 40 student without a teacher, ≤ 14 epochs',
  ],
);
const gazetteerStudent = (buckets: number) => [
  ...['--hidden', '76', '--dim', '40', '--embedding-bits', '4', '--buckets', String(buckets)],
  '--slot-gazetteer',
];
// round 4 (models/README.md): the 76-channel student with its own slot gazetteer, and a narrower table whose
// packed directory (gazetteer included) fits in 250 KB
trained.push(
  [
    'tiny 8192 × 40, 76 ch + slot-gazetteer + augment, shipped teacher',
    distilled(gazetteerStudent(8192), shipped, 1),
    'round 4 (G1): the 76-channel student with --slot-gazetteer (the gazetteer of training slot values, ~200 KB of JSON, rides in its manifest); its flags widen the first convolution, so 262 KB: over the budget',
  ],
  ...seededRows(
    'tiny 7616 × 40, 76 ch + slot-gazetteer + augment, shipped teacher',
    gazetteerStudent(7616),
    shipped,
    'round 4 (G1′): G1 with 7616 buckets, back under 250 KB',
    [1, 2, 3],
  ),
  [
    'tiny 2560 × 40, 76 ch + slot-gazetteer + augment, shipped teacher',
    distilled(gazetteerStudent(2560), shipped, 1),
    'round 4 (G2): G1 with 2560 buckets, so the packed directory with its gazetteer fits in 250 KB',
  ],
  [
    'tiny 7616 × 40, 76 ch + slot-gazetteer from scratch',
    [...gazetteerStudent(7616), '--epochs', '14'],
    'round 4 (G3): the G1′ student without a teacher, ≤ 14 epochs',
  ],
);
for (const [name, extra, how] of trained) {
  const dir = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  if (!existsSync(join(dir, 'manifest.json'))) {
    if (process.env.SLING_BENCH_TRAIN !== '1') {
      carry(name);
      continue;
    }
    run([sling, 'train', train, '--dev', dev, '--out', dir, '--json', ...extra], `train ${name}`);
  }
  score(name, dir, how);
  if (['--embedding-bits', '--init', '--seed'].some((o) => extra.includes(o))) continue;
  const int4 = `${dir}-int4`;
  recompressModelDir(dir, int4, { embeddingBits: 4 });
  score(`${name} + int4`, int4, 'int4 embedding');
}

const peer = run(
  ['--import', 'tsx', resolve(projectRoot, 'test/bench/nlpjs-peer.ts'), train, test],
  'nlp.js',
) as { intentAccuracy: number; p50: number; p99: number; peakRssMiB: number; modelBytes?: number };
rows.push({
  config: 'nlp.js (@nlpjs/basic)',
  how: 'measured in this run, intent only',
  model_bytes: peer.modelBytes ?? null,
  packed_bytes: null,
  intent_acc_pct: +(peer.intentAccuracy * 100).toFixed(2),
  slot_f1: null,
  exact_match_pct: null,
  dev_slot_f1: null,
  dev_exact_pct: null,
  p50_ms: +peer.p50.toFixed(4),
  p99_ms: +peer.p99.toFixed(4),
  peak_rss_mib: Math.round(peer.peakRssMiB),
});
// published: DistilBERT (66M parameters, fp32) fine-tuned on SNIPS, as cited in issue 9
rows.push({
  config: 'DistilBERT (published)',
  how: 'reference point, not run here',
  model_bytes: 66e6 * 4,
  packed_bytes: null,
  intent_acc_pct: 98.0,
  slot_f1: 96.1,
  exact_match_pct: 91.0,
  dev_slot_f1: null,
  dev_exact_pct: null,
  p50_ms: null,
  p99_ms: null,
  peak_rss_mib: null,
});

writeResult('compress', rows, {
  data: { source: 'SNIPS (JointBERT split)', scoredOn: 'test (700)' },
  note: 'post-training rows have no fine-tuning; "+ fine-tuning" rows are sling train --init models/snips with pruning; dev columns: SNIPS dev (700), used for selection',
});
await renderChart(rows);

/** Accuracy against model size (log x): slot F1 and intent accuracy per configuration. */
async function renderChart(all: Row[]): Promise<void> {
  const W = 1000;
  const pts = all.filter((r) => typeof r.model_bytes === 'number');
  // the legend has one line per configuration: the chart grows with it
  const Hh = Math.max(520, 40 + (pts.length + 3) * 20 + 20);
  const m = { l: 70, r: 340, t: 40, b: 60 };
  const xs = pts.map((r) => Math.log10(r.model_bytes as number));
  const x0 = Math.floor(Math.min(...xs));
  const x1 = Math.ceil(Math.max(...xs));
  const ys = pts.flatMap((r) =>
    [r.intent_acc_pct, r.slot_f1].filter((v): v is number => typeof v === 'number'),
  );
  // below 80 % a configuration has failed; those points sit on the floor with their value written next to them
  const y0 = Math.max(80, Math.floor(Math.min(...ys) - 1));
  const y1 = Math.ceil(Math.max(...ys) + 0.5);
  const X = (b: number) => m.l + ((Math.log10(b) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number) => Hh - m.b - ((Math.max(v, y0) - y0) / (y1 - y0)) * (Hh - m.t - m.b);
  const floorLabel = (x: number, v: number) =>
    v < y0 ? `<text x="${x + 8}" y="${Y(v) - 6}" font-size="10">${v}</text>` : '';
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Hh}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${Hh}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="15">SNIPS test: accuracy against model size (bench:compress)</text>`,
  ];
  for (let e = x0; e <= x1; e++) {
    const x = X(10 ** e);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${Hh - m.b}" stroke="#ddd"/>`);
    const label = e >= 6 ? `${10 ** (e - 6)} MB` : `${10 ** (e - 3)} KB`;
    parts.push(`<text x="${x}" y="${Hh - m.b + 18}" text-anchor="middle">${label}</text>`);
  }
  for (let v = y0; v <= y1; v += 2) {
    const y = Y(v);
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 8}" y="${y + 4}" text-anchor="end">${v}</text>`);
  }
  parts.push(
    `<text x="${(W - m.r + m.l) / 2}" y="${Hh - 15}" text-anchor="middle">model file (log scale)</text>`,
  );
  parts.push(`<text x="18" y="${Hh / 2}" transform="rotate(-90 18 ${Hh / 2})" text-anchor="middle">%</text>`);
  // golden-angle hues: neighbouring configurations get distinct colours however many there are
  const colour = (i: number) => `hsl(${Math.round((i * 137.5) % 360)}, 70%, ${i % 2 === 0 ? 40 : 55}%)`;
  pts.forEach((r, i) => {
    const c = colour(i);
    const x = X(r.model_bytes as number);
    if (typeof r.slot_f1 === 'number')
      parts.push(`<circle cx="${x}" cy="${Y(r.slot_f1)}" r="5" fill="${c}"/>`, floorLabel(x, r.slot_f1));
    if (typeof r.intent_acc_pct === 'number')
      parts.push(
        floorLabel(x, r.intent_acc_pct),
        `<rect x="${x - 4}" y="${Y(r.intent_acc_pct) - 4}" width="8" height="8" fill="none" stroke="${c}" stroke-width="2"/>`,
      );
    parts.push(`<circle cx="${W - m.r + 20}" cy="${m.t + 10 + i * 20}" r="5" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r + 30}" y="${m.t + 14 + i * 20}">${esc(String(r.config))}</text>`);
  });
  const ly = m.t + 20 + pts.length * 20;
  parts.push(
    `<circle cx="${W - m.r + 20}" cy="${ly}" r="5" fill="#555"/><text x="${W - m.r + 30}" y="${ly + 4}">slot F1</text>`,
  );
  parts.push(
    `<rect x="${W - m.r + 16}" y="${ly + 16}" width="8" height="8" fill="none" stroke="#555" stroke-width="2"/><text x="${W - m.r + 30}" y="${ly + 24}">intent accuracy</text>`,
  );
  parts.push('</svg>');
  const svg = parts.join('\n');
  const base = resolve(projectRoot, 'test/bench/results/compress');
  writeFileSync(`${base}.svg`, svg);
  try {
    const sharp = (await import('sharp')).default;
    await sharp(Buffer.from(svg)).png().toFile(`${base}.png`);
    process.stderr.write(`wrote ${base}.svg and .png\n`);
  } catch (error) {
    process.stderr.write(`wrote ${base}.svg; PNG skipped (${(error as Error).message})\n`);
  }
}
