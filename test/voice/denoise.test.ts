import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DENOISE_DELAY, denoiseClip, NoiseSuppressor } from '../../agent/ingress/voice/denoise.ts';
import { integerRatioTaps, StreamDownsampler, StreamUpsampler } from '../../agent/ingress/voice/resample.ts';
import { Segmenter, type Utterance } from '../../agent/ingress/voice/segmenter.ts';
import { AudioStream } from '../../agent/ingress/voice/stream.ts';
import { SileroVad } from '../../agent/ingress/voice/vad.ts';
import { concatSamples } from '../../agent/ingress/voice/wav.ts';
import { addNoise, paddedSpeech } from '../helpers/speech.ts';

const sine = (n: number, hz: number, rate: number, phase = 0) =>
  Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate + phase));

/** Feeds `input` to `process` in chunks of the given sizes (cycled); the outputs joined. */
function chunked(process: (x: Float32Array) => Float32Array, input: Float32Array, sizes: number[]) {
  const parts: Float32Array[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    parts.push(process(input.subarray(at, at + size)));
    at += size;
  }
  return concatSamples(parts);
}

const rms = (x: Float32Array, from = 0, to = x.length) => {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]! ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
};

test('whole-factor stream resamplers give the same output however the stream is chunked', () => {
  const x = sine(4001, 440, 16000).map((v, i) => v + 0.1 * Math.sin(i * 0.37));
  const upWhole = new StreamUpsampler(3).process(x);
  const upUp = new StreamUpsampler(3);
  assert.deepEqual(
    chunked((c) => upUp.process(c), x, [1, 7, 512, 33]),
    upWhole,
  );
  assert.equal(upWhole.length, 3 * x.length);
  const downWhole = new StreamDownsampler(3).process(upWhole);
  const down = new StreamDownsampler(3);
  assert.deepEqual(
    chunked((c) => down.process(c), upWhole, [2, 480, 5, 1000]),
    downWhole,
  );
  assert.equal(downWhole.length, x.length);
});

test('raising the rate threefold keeps a tone; lowering it again gives the input back, delayed', () => {
  const x = sine(1600, 1000, 16000);
  const up = new StreamUpsampler(3).process(x);
  const delay = integerRatioTaps(3).length >> 1;
  // At 48 kHz the tone, delayed by half the filter.
  const expected = sine(up.length, 1000, 48000, (-2 * Math.PI * 1000 * delay) / 48000);
  let worst = 0;
  for (let i = 200; i < up.length - 200; i++) worst = Math.max(worst, Math.abs(up[i]! - expected[i]!));
  assert.ok(worst < 0.01, `upsampled tone off by ${worst}`);
  const back = new StreamDownsampler(3).process(up);
  // Each filter delays by `delay` samples at 48 kHz: 2 × delay / 3 at 16 kHz.
  const shift = (2 * delay) / 3;
  worst = 0;
  for (let i = 100; i < x.length - 100; i++) worst = Math.max(worst, Math.abs(back[i + shift]! - x[i]!));
  assert.ok(worst < 0.01, `round trip off by ${worst}`);
});

test('lowering the rate removes what the lower rate cannot hold (no aliasing)', () => {
  // 10 kHz at 48 kHz would alias to 6 kHz at 16 kHz.
  const down = new StreamDownsampler(3).process(sine(48000, 10000, 48000));
  assert.ok(rms(down, 200) < 0.01 * rms(sine(100, 10000, 48000)), `aliased energy ${rms(down, 200)}`);
});

test('RNNoise takes steady noise down and keeps the speech (real WASM model)', async () => {
  const clean = await paddedSpeech('turn on the kitchen light');
  const noisy = addNoise(Float32Array.from(clean), 0.03, 7);
  const denoised = await denoiseClip(noisy);
  assert.equal(denoised.length, noisy.length);
  // The last 0.75 s are silence in the clean clip: there the output is noise alone.
  const quietFrom = noisy.length - 12000;
  const noiseBefore = rms(noisy, quietFrom);
  const noiseAfter = rms(denoised, quietFrom);
  assert.ok(noiseAfter < noiseBefore / 10, `noise ${noiseBefore.toFixed(4)} → ${noiseAfter.toFixed(4)}`);
  // Speech keeps most of its level.
  const speechFrom = clean.findIndex((v) => Math.abs(v) > 0.01);
  const speechTo = speechFrom + 8000;
  const kept = rms(denoised, speechFrom, speechTo) / rms(clean, speechFrom, speechTo);
  assert.ok(kept > 0.5, `speech level kept ${kept.toFixed(2)}`);
});

test('the noise suppressor streams: any chunking gives the same audio', async () => {
  const noisy = addNoise(await paddedSpeech('stop'), 0.02, 3);
  const a = await NoiseSuppressor.open();
  const b = await NoiseSuppressor.open();
  try {
    const whole = a.process(noisy);
    const pieces = chunked((c) => b.process(c), noisy, [512, 160, 1, 2048]);
    // Both hold back the same partial frame at the end.
    assert.equal(pieces.length, whole.length);
    assert.ok(whole.length >= noisy.length - 160 && whole.length <= noisy.length);
    assert.deepEqual(pieces, whole);
  } finally {
    a.close();
    b.close();
  }
  assert.throws(() => a.process(noisy), /after close/);
  // A background adaptation denoises in steps (letting decodes run between): the same samples.
  const stepped = await denoiseClip(noisy, true);
  assert.equal(stepped.length, noisy.length);
  assert.deepEqual(stepped, await denoiseClip(noisy));
});

test('the denoised stream runs DENOISE_DELAY samples behind its input', async () => {
  const clean = await paddedSpeech('turn on the kitchen light please');
  const denoised = await denoiseClip(clean);
  let bestLag = -1;
  let best = Number.NEGATIVE_INFINITY;
  for (let lag = 0; lag < 600; lag++) {
    let dot = 0;
    for (let i = 0; i + lag < denoised.length; i++) dot += clean[i]! * denoised[i + lag]!;
    if (dot > best) [best, bestLag] = [dot, lag];
  }
  assert.equal(DENOISE_DELAY, 192);
  assert.equal(bestLag, DENOISE_DELAY);
});

/**
 * Each session pushed through one denoising AudioStream in chunks of `chunkSizes` (cycled) and then flushed, as
 * push-to-talk presses are.
 */
async function denoisedUtterances(sessions: Float32Array[], chunkSizes: number[]): Promise<Utterance[]> {
  const vad = await SileroVad.load();
  const denoiser = await NoiseSuppressor.open();
  const utterances: Utterance[] = [];
  const stream = new AudioStream(
    vad,
    new Segmenter(),
    (u) => {
      utterances.push(u);
    },
    undefined,
    denoiser,
  );
  try {
    for (const input of sessions) {
      for (let at = 0, i = 0; at < input.length; i++) {
        const size = chunkSizes[i % chunkSizes.length]!;
        await stream.push(input.subarray(at, at + size), 16000);
        at += size;
      }
      await stream.flush();
    }
  } finally {
    denoiser.close();
    await vad.close();
  }
  return utterances;
}

/** The input span an utterance stands for: its stream positions, DENOISE_DELAY earlier. */
const inputSpan = (input: Float32Array, u: Utterance) => {
  const start = u.closedAt - u.samples.length - DENOISE_DELAY;
  return input.slice(start, start + u.samples.length);
};

test('a denoising stream hands each utterance over with the same span before denoising', async () => {
  // Two seconds of room noise first, as a live stream has: the suppressor settles on the noise.
  const speechClip = await paddedSpeech('drive forward two meters');
  const input = new Float32Array(32000 + speechClip.length);
  input.set(speechClip, 32000);
  addNoise(input, 0.02, 5);
  // In uneven chunks, as a satellite sends them.
  const utterances = await denoisedUtterances([input], [320, 1000, 77]);
  assert.equal(utterances.length, 1);
  const u = utterances[0]!;
  assert.ok(u.unprocessed, 'unprocessed audio attached');
  assert.equal(u.unprocessed.length, u.samples.length);
  assert.deepEqual(u.unprocessed, inputSpan(input, u));
  // And noisier than what the VAD and decoder got.
  const [before, after] = [rms(u.unprocessed, 0, 1600), rms(u.samples, 0, 1600)];
  assert.ok(before > 3 * after, `noise rms ${before.toFixed(4)} before denoising, ${after.toFixed(4)} after`);
});

test('an utterance ended by flush (push-to-talk released mid-speech) also carries its unprocessed audio', async () => {
  const speechClip = await paddedSpeech('turn on the kitchen light');
  // Room noise, then the command cut off before its trailing silence.
  const cut = speechClip.subarray(0, speechClip.length - 16000 - 4800);
  const input = new Float32Array(16000 + cut.length);
  input.set(cut, 16000);
  addNoise(input, 0.02, 9);
  const u = (await denoisedUtterances([input], [input.length])).at(-1)!;
  assert.equal(u.reason, 'flush');
  assert.deepEqual(u.unprocessed, inputSpan(input, u));
  assert.ok(rms(u.unprocessed!) > 0.01, 'the speech itself, not silence');
});

test('push-to-talk: the suppressor stays settled from one press to the next, and the spans stay aligned', async () => {
  // First press: room noise, then a command; the second starts speaking 0.3 s after the press.
  const room = (seconds: number, seed: number) => addNoise(new Float32Array(seconds * 16000), 0.02, seed);
  const first = new Float32Array(32000 + (await paddedSpeech('stop')).length);
  first.set(await paddedSpeech('stop'), 32000);
  addNoise(first, 0.02, 11);
  const speech = await paddedSpeech('turn on the kitchen light');
  const second = new Float32Array(speech.length - 3200);
  second.set(speech.subarray(3200));
  addNoise(second, 0.02, 12);
  const utterances = await denoisedUtterances([room(1, 10), first, second], [512]);
  const u = utterances.at(-1)!;
  assert.ok(u.unprocessed);
  // Aligned: the denoised samples and the unprocessed ones correlate best at lag 0.
  let bestLag = 0;
  let best = Number.NEGATIVE_INFINITY;
  for (let lag = -300; lag <= 300; lag++) {
    let dot = 0;
    for (let i = Math.max(0, -lag); i < u.samples.length && i + lag < u.samples.length; i++)
      dot += u.samples[i]! * u.unprocessed[i + lag]!;
    if (dot > best) [best, bestLag] = [dot, lag];
  }
  assert.equal(bestLag, 0);
  // Settled: the noise before the speech is already taken down (a fresh suppressor passes it for ~0.5 s).
  const [before, after] = [rms(u.unprocessed, 0, 1600), rms(u.samples, 0, 1600)];
  assert.ok(before > 3 * after, `noise rms ${before.toFixed(4)} before denoising, ${after.toFixed(4)} after`);
});
