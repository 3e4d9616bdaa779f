import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTINUATION_WINDOW, type Heard, inContinuation } from '../../agent/ingress/voice/engine.ts';
import type { Recognition } from '../../agent/ingress/voice/recognizer.ts';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { Segmenter, type Utterance } from '../../agent/ingress/voice/segmenter.ts';
import { decodeWav, encodeDitheredWav, encodeWav, WavError } from '../../agent/ingress/voice/wav.ts';

test('WAV round trip keeps samples within 16-bit precision', () => {
  const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10) * 0.8);
  const audio = decodeWav(encodeWav(samples, 22050));
  assert.equal(audio.sampleRate, 22050);
  assert.equal(audio.samples.length, 1000);
  for (let i = 0; i < 1000; i++) assert.ok(Math.abs(audio.samples[i]! - samples[i]!) < 1e-4);
});

test("the decoder's dither is in the WAV: +1 on about a quarter of the samples, the same every time", () => {
  const silence = new Float32Array(8000);
  const wav = encodeDitheredWav(silence, 16000);
  assert.deepEqual(wav, encodeDitheredWav(silence, 16000), 'repeatable');
  const values = Array.from({ length: 8000 }, (_, i) => wav.readInt16LE(44 + i * 2));
  assert.ok(values.every((v) => v === 0 || v === 1));
  const ones = values.filter((v) => v === 1).length;
  assert.ok(ones > 1800 && ones < 2200, `${ones} of 8000 dithered`);
  const loud = encodeDitheredWav(new Float32Array(10).fill(1), 16000);
  assert.ok(
    Array.from({ length: 10 }, (_, i) => loud.readInt16LE(44 + i * 2)).every((v) => v === 32767),
    'no wrap',
  );
});

test('stereo 24-bit WAV is decoded and averaged to mono', () => {
  const frames = 4;
  const data = Buffer.alloc(frames * 2 * 3);
  for (let i = 0; i < frames; i++) {
    data.writeIntLE(4194304, i * 6, 3); // left +0.5
    data.writeIntLE(-4194304 / 2, i * 6 + 3, 3); // right -0.25
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(48000, 24);
  header.writeUInt32LE(48000 * 6, 28);
  header.writeUInt16LE(6, 32);
  header.writeUInt16LE(24, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  const audio = decodeWav(Buffer.concat([header, data]));
  assert.equal(audio.sampleRate, 48000);
  assert.equal(audio.samples.length, frames);
  assert.ok(Math.abs(audio.samples[0]! - 0.125) < 1e-6);
});

test('bad WAV input is a WavError that says why', () => {
  assert.throws(() => decodeWav(Buffer.from('hello world, not audio')), WavError);
  const truncated = encodeWav(new Float32Array(10), 16000).subarray(0, 30);
  assert.throws(() => decodeWav(truncated), /no data chunk|fmt/);
  const alaw = encodeWav(new Float32Array(10), 16000);
  alaw.writeUInt16LE(6, 20); // A-law
  assert.throws(() => decodeWav(alaw), /unsupported WAV encoding/);
});

test('resampling 48 kHz → 16 kHz keeps a 1 kHz tone and removes a 12 kHz one', () => {
  const tone = (hz: number) =>
    Float32Array.from({ length: 48000 }, (_, i) => Math.sin((2 * Math.PI * hz * i) / 48000));
  const low = resample(tone(1000), 48000, 16000);
  assert.equal(low.length, 16000);
  let crossings = 0;
  for (let i = 1; i < low.length; i++) if (low[i - 1]! < 0 !== low[i]! < 0) crossings++;
  assert.ok(Math.abs(crossings - 2000) <= 4, `1 kHz tone has ${crossings} zero crossings, expected ~2000`);
  const high = resample(tone(12000), 48000, 16000);
  const rms = Math.sqrt(high.slice(100, -100).reduce((s, x) => s + x * x, 0) / (high.length - 200));
  assert.ok(rms < 0.05, `12 kHz above the new Nyquist must be filtered, rms ${rms}`);
});

const frame = () => new Float32Array(512);
const feed = (segmenter: Segmenter, probabilities: number[]) =>
  probabilities.map((p) => segmenter.push(frame(), p)).filter((u) => u !== undefined);

test('segmenter: speech then trailing silence makes one utterance with pre-roll', () => {
  const s = new Segmenter({ trailingSilenceMs: 224, preRollMs: 96, minSpeechMs: 64 });
  // 10 silent, 10 speech, 7 silent frames (7 × 32 ms = 224 ms ends it)
  const out = feed(s, [...Array(10).fill(0.01), ...Array(10).fill(0.9), ...Array(7).fill(0.05)]);
  assert.equal(out.length, 1);
  const u = out[0]!;
  assert.equal(u.reason, 'silence');
  assert.equal(u.speechStart, 10 * 512);
  assert.equal(u.speechEnd, 20 * 512);
  assert.equal(u.samples.length, (3 + 10 + 7) * 512, '3 pre-roll + 10 speech + 7 silence frames');
});

test('segmenter: a short dip inside speech does not split it; hysteresis holds', () => {
  const s = new Segmenter({ trailingSilenceMs: 224, threshold: 0.5, negThreshold: 0.35, minSpeechMs: 64 });
  const out = feed(s, [0.9, 0.9, 0.1, 0.1, 0.4, 0.9, 0.9, ...Array(7).fill(0)]);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.speechEnd, 7 * 512);
});

test('segmenter: clicks shorter than minSpeech are dropped; long speech is cut at maxUtterance', () => {
  const s = new Segmenter({ minSpeechMs: 128, trailingSilenceMs: 96 });
  assert.equal(feed(s, [0.9, 0.9, 0, 0, 0]).length, 0, '64 ms click');
  const long = new Segmenter({ maxUtteranceMs: 1024, preRollMs: 0 });
  const out = feed(long, Array(40).fill(0.9));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.reason, 'max-length');
  assert.equal(out[0]!.samples.length, 32 * 512);
  assert.equal(long.flush()?.reason, 'flush', 'the rest is flushed at end of stream');
});

test('segmenter: a pause offers the utterance so far for early decoding; it stands only if speech stays away', () => {
  const s = new Segmenter({ trailingSilenceMs: 224, earlyDecodeMs: 64, preRollMs: 0, minSpeechMs: 64 });
  const early: (Utterance | undefined)[] = [];
  const step = (p: number) => {
    const u = s.push(frame(), p);
    early.push(s.takeEarly());
    return u;
  };
  // Speech, a 64 ms pause (offered), speech again, then silence to the end (offered again, then closed).
  const closed = [...Array(5).fill(0.9), 0, 0, ...Array(3).fill(0.9), ...Array(7).fill(0)]
    .map(step)
    .filter((u) => u !== undefined);
  const offered = early.filter((u) => u !== undefined);
  assert.equal(offered.length, 2, 'one offer per pause of 64 ms');
  assert.equal(offered[0]!.reason, 'early');
  assert.equal(offered[0]!.speechEnd, 5 * 512);
  assert.equal(offered[0]!.samples.length, 7 * 512, 'speech + 2 silent frames so far');
  assert.equal(closed.length, 1);
  assert.notEqual(offered[0]!.speechEnd, closed[0]!.speechEnd, 'speech came back: the first offer is stale');
  assert.equal(offered[1]!.speechEnd, closed[0]!.speechEnd, 'the last offer stands for the utterance');
  assert.ok(offered[1]!.closedAt < closed[0]!.closedAt, 'and was ready before the trailing silence ended');
});

/** A frame of constant level `amplitude` (its RMS). */
const level = (amplitude: number) => new Float32Array(512).fill(amplitude);

test('segmenter: a frame far below the loudest speech starts the pause while the VAD still hears speech', () => {
  const options = { trailingSilenceMs: 160, earlyDecodeMs: 32, preRollMs: 0, minSpeechMs: 64 };
  // 6 loud frames, 2 frames 46 dB down that the VAD (lagging) still calls speech, then silence.
  const frames: [number, number][] = [
    ...Array.from({ length: 6 }, (): [number, number] => [0.1, 0.9]),
    [0.0005, 0.9],
    [0.0005, 0.9],
    ...Array.from({ length: 6 }, (): [number, number] => [0.0005, 0.05]),
  ];
  const run = (quietDb: number) => {
    const s = new Segmenter({ ...options, quietDb });
    const offered: Utterance[] = [];
    const closed: Utterance[] = [];
    for (const [amplitude, p] of frames) {
      const u = s.push(level(amplitude), p);
      const early = s.takeEarly();
      if (early) offered.push(early);
      if (u) closed.push(u);
    }
    return { offered, closed };
  };
  const quiet = run(40);
  assert.equal(quiet.offered.length, 1);
  assert.equal(quiet.offered[0]!.pauseStart, 6 * 512, 'the pause began after the last loud frame');
  assert.equal(quiet.offered[0]!.samples.length, 7 * 512, 'offered after one quiet frame');
  assert.equal(quiet.closed.length, 1);
  assert.equal(quiet.closed[0]!.speechEnd, 8 * 512, 'the VAD span is unchanged');
  assert.equal(quiet.closed[0]!.closedAt, 13 * 512, 'closed after 160 ms the VAD calls silence');
  assert.equal(quiet.closed[0]!.pauseStart, quiet.offered[0]!.pauseStart, 'the early decode stands for it');
  const vadOnly = run(0);
  assert.equal(vadOnly.offered[0]!.pauseStart, 8 * 512, 'quietDb 0: the pause begins where the VAD says');
  assert.equal(vadOnly.offered[0]!.samples.length, 9 * 512);
  assert.equal(vadOnly.closed[0]!.closedAt, 13 * 512);
});

test('segmenter: after an early decode heard a whole command the utterance ends after completeSilenceMs', () => {
  const options = {
    trailingSilenceMs: 320,
    completeSilenceMs: 96,
    earlyDecodeMs: 32,
    quietDb: 40,
    preRollMs: 0,
    minSpeechMs: 64,
  };
  const speak = (s: Segmenter) => {
    for (let i = 0; i < 6; i++) assert.equal(s.push(level(0.1), 0.9), undefined);
  };
  // Told at once, in a quiet frame the VAD still calls speech: it waits for 96 ms of VAD silence.
  const s = new Segmenter(options);
  speak(s);
  assert.equal(s.push(level(0), 0.9), undefined);
  const early = s.takeEarly()!;
  assert.equal(s.complete(early.pauseStart), undefined, 'no silence yet');
  assert.equal(s.push(level(0), 0.2), undefined);
  assert.equal(s.push(level(0), 0.1), undefined);
  const closed = s.push(level(0), 0.1);
  assert.equal(closed?.reason, 'complete');
  assert.equal(closed?.closedAt, 10 * 512, '6 loud frames, 1 quiet, 3 silent');
  assert.equal(closed?.pauseStart, early.pauseStart);
  // Told late (a slow decode): the silence is already long enough, so it ends there and then.
  const late = new Segmenter(options);
  speak(late);
  for (let i = 0; i < 4; i++) late.push(level(0), 0.1);
  const pause = late.takeEarly()?.pauseStart ?? 6 * 512;
  assert.equal(late.complete(pause)?.reason, 'complete');
  // A stale verdict (speech came back after that pause) changes nothing: the full trailing silence applies.
  const resumed = new Segmenter(options);
  speak(resumed);
  resumed.push(level(0), 0.1);
  const stale = resumed.takeEarly()!;
  resumed.push(level(0.1), 0.9);
  assert.equal(resumed.complete(stale.pauseStart), undefined);
  const rest = Array.from({ length: 10 }, () => resumed.push(level(0), 0.05)).filter((u) => u);
  assert.equal(rest.length, 1);
  assert.equal(rest[0]!.reason, 'silence');
  assert.equal(rest[0]!.closedAt - rest[0]!.pauseStart, 10 * 512, '320 ms of silence, not 96');
});

test('a command starting with a connective stands only right after an accepted command', () => {
  const heard = (speechStart: number, recognition: Partial<Recognition>): Heard => ({
    utterance: {
      samples: new Float32Array(0),
      speechStart,
      speechEnd: speechStart + 8000,
      pauseStart: speechStart + 8000,
      closedAt: speechStart + 10000,
      reason: 'silence',
    },
    recognition: {
      text: 'go home',
      confidence: 0.9,
      accepted: true,
      timing: { decodeMs: 1 },
      ...recognition,
    },
    recognizeMs: 1,
    decodeStartedAt: speechStart + 10000,
  });
  const continued = heard(50000, { continues: true });
  assert.equal(inContinuation(continued, 50000 - CONTINUATION_WINDOW).recognition.accepted, true);
  const late = inContinuation(continued, 50000 - CONTINUATION_WINDOW - 1).recognition;
  assert.equal(late.accepted, false, 'too long after the command before');
  assert.match(String(late.reason), /no command came just before/);
  assert.equal(inContinuation(continued, undefined).recognition.accepted, false, 'nothing before it');
  const plain = heard(50000, {});
  assert.equal(inContinuation(plain, undefined), plain, 'a command without a connective is left alone');
  const doubted = heard(50000, {
    continues: true,
    accepted: false,
    reason: 'too close to "and then go bedroom"',
    doubt: { word: 'home', rival: 'bedroom' },
  });
  const notAsked = inContinuation(doubted, undefined).recognition;
  assert.equal(notAsked.doubt, undefined, 'not asked back either');
  assert.equal(notAsked.reason, doubted.recognition.reason);
});
