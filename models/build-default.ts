/**
 * npm run build:model — trains the default world's model from config/intents/default.yaml into
 * models/default/ (seed 1, deterministic) and records what it was built from in models/default/source.json:
 * the spec's sha256 and the sha256 of the expanded training sentences, which also changes when a builtin
 * entity's sampler changes. test/decide/default-model.test.ts fails when either no longer matches.
 */
import { writeFileSync } from 'node:fs';
import { fromProjectRoot } from '../agent/paths.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_SPEC, defaultModelSources } from './default-sources.ts';
import { buildModel } from './factory/build.ts';

const out = fromProjectRoot(DEFAULT_MODEL_DIR);
const tty = process.stderr.isTTY;
const { manifest } = buildModel({
  source: fromProjectRoot(DEFAULT_SPEC),
  out,
  seed: 1,
  // int4 embedding (fp16 row scales): half the file, same bench:commands figures (measured: models/README.md)
  compress: { embeddingBits: 4 },
  // intent–slot agreement decoding: bench:commands identical with and without it (models/README.md, rounds 1–2)
  intentSlotAgreement: true,
  progress: (line, final) => {
    if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else if (final) process.stderr.write(`${line}\n`);
  },
});
writeFileSync(`${out}/source.json`, `${JSON.stringify(defaultModelSources(), null, 2)}\n`);
const dev = manifest.metrics.dev.int8;
const c = manifest.calibration;
const calibrated =
  c &&
  `${c.refusedRight}/${c.right} in-scope sentences it gets right, accepts ${c.acceptedOthers}/${c.others} others`;
process.stdout.write(
  `wrote ${DEFAULT_MODEL_DIR}: ${manifest.intents.length - 1} intents, ${(manifest.model.bytes / 1024).toFixed(0)} KiB, ` +
    `dev int8 intent ${(dev.intentAccuracy * 100).toFixed(2)}% slot F1 ${(dev.slotF1 * 100).toFixed(2)}, ` +
    `threshold ${manifest.threshold.toFixed(3)}${calibrated ? ` (calibration: refuses ${calibrated})` : ''}\n`,
);
