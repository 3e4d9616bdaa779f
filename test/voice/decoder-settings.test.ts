import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decoderArguments,
  decoderSchema,
  defaultDecoderSettings,
  mergeArguments,
} from '../../agent/ingress/voice/decoder.ts';
import { voiceSchema } from '../../agent/ingress/voice/schema.ts';

test('voice.decoder defaults are the measured settings, as pocketsphinx arguments', () => {
  assert.deepEqual(voiceSchema.parse({}).decoder, defaultDecoderSettings);
  assert.deepEqual(decoderArguments(defaultDecoderSettings), [
    ...['-topn', '8', '-beam', '1e-48', '-pbeam', '1e-48', '-wbeam', '7e-29', '-maxhmmpf', '-1'],
  ]);
  const custom = decoderSchema.parse({ topn: 4, maxActiveHmms: 30000, extraArgs: ['-lw', '8'] });
  assert.deepEqual(decoderArguments(custom).slice(0, 2), ['-topn', '4']);
  assert.deepEqual(decoderArguments(custom).slice(-4), ['-maxhmmpf', '30000', '-lw', '8']);
});

test('voice.decoder refuses settings pocketsphinx cannot take, saying which', () => {
  for (const bad of [
    { topn: 0 },
    { beam: 2 },
    { wordBeam: -1 },
    { maxActiveHmms: -2 },
    { speed: 1 },
    { extraArgs: ['-lw'] },
    { extraArgs: ['lw', '8'] },
  ]) {
    const r = decoderSchema.safeParse(bad);
    assert.equal(r.success, false, JSON.stringify(bad));
    assert.ok(r.error?.issues[0]?.path.length || r.error?.issues[0]?.code === 'unrecognized_keys');
  }
});

test('merged pocketsphinx arguments keep one value per option, the later one, in place', () => {
  assert.deepEqual(mergeArguments(['-lm', 'a.lm', '-fwdflat', 'no'], ['-topn', '8', '-fwdflat', 'yes']), [
    ...['-lm', 'a.lm', '-fwdflat', 'yes', '-topn', '8'],
  ]);
  assert.throws(() => mergeArguments(['-lw']), /pairs/);
  assert.throws(() => mergeArguments(['lw', '8']), /not a pocketsphinx option name: "lw"/);
});
