import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { synthesize } from '../../agent/ingress/voice/tts.ts';
import { decodeWav } from '../../agent/ingress/voice/wav.ts';

export const RATE = 16000;

const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / Math.max(1, x.length));

/** sox's noise colours; `VOICE_BENCH_NOISE` picks one (default pink: equal energy per octave, like a room). */
export const NOISE_KINDS = ['pinknoise', 'whitenoise', 'brownnoise'] as const;

/** The noise the benchmarks mix in: `VOICE_BENCH_NOISE`, else pink. */
export function benchNoise(): (typeof NOISE_KINDS)[number] {
  const kind = process.env.VOICE_BENCH_NOISE ?? 'pinknoise';
  if (!(NOISE_KINDS as readonly string[]).includes(kind))
    throw new Error(`VOICE_BENCH_NOISE=${kind}: one of ${NOISE_KINDS.join(', ')}`);
  return kind as (typeof NOISE_KINDS)[number];
}

/**
 * Synthesized speech for benchmarks: espeak-ng, 16 kHz, silence around it, and optionally sox noise (pink
 * unless `VOICE_BENCH_NOISE` says otherwise) at a given SNR against the speech. The noise runs on across
 * renditions so each gets a different stretch.
 */
export class NoisySpeech {
  private readonly dir = mkdtempSync(join(tmpdir(), 'sling-bench-noise-'));
  private readonly noise: Float32Array;
  private noiseAt = 0;

  /**
   * `repeatable`: the same noise every run (sox -R), so runs compare. `skipSeconds`: start that far into the
   * repeatable stream, so two users of it (enrollment and test speech) never share a stretch.
   */
  constructor(noiseSeconds = 120, repeatable = false, skipSeconds = 0) {
    const file = join(this.dir, 'noise.wav');
    execFileSync('sox', [
      ...(repeatable ? ['-R'] : []),
      '-n',
      '-r',
      String(RATE),
      '-b',
      '16',
      '-c',
      '1',
      file,
      'synth',
      String(noiseSeconds + skipSeconds),
      benchNoise(),
    ]);
    this.noise = decodeWav(readFileSync(file)).samples.subarray(skipSeconds * RATE);
  }

  /** `snr` null: clean. `speechEnd`: the sample after the last one above 0.01 (the end of speech). */
  async render(
    text: string,
    voice: string,
    wordsPerMinute: number,
    snr: number | null,
    leadS = 0.6,
    tailS = 0.8,
    /** How espeak-ng's WAV becomes 16 kHz samples (default: Sling's resampler). */
    to16k = (wav: Buffer) => {
      const clip = decodeWav(wav);
      return resample(clip.samples, clip.sampleRate, RATE);
    },
  ) {
    return this.mix(to16k(await synthesize(text, { voice, wordsPerMinute })), snr, leadS, tailS);
  }

  /**
   * Any 16 kHz speech (a recording too) with silence around it and the noise at `snr` dB (null: clean).
   * Speech spans the samples at or above `level` (a recording's breaths and room sound stay below its own).
   */
  mix(speech: Float32Array, snr: number | null, leadS = 0.6, tailS = 0.8, level = 0.01) {
    let last = speech.length - 1;
    while (last > 0 && Math.abs(speech[last]!) < level) last--;
    let first = 0;
    while (first < last && Math.abs(speech[first]!) < level) first++;
    const lead = Math.round(leadS * RATE);
    const samples = new Float32Array(lead + speech.length + Math.round(tailS * RATE));
    samples.set(speech, lead);
    if (snr !== null) {
      const gain = rms(speech.subarray(first, last)) / 10 ** (snr / 20) / rms(this.noise);
      for (let i = 0; i < samples.length; i++)
        samples[i]! += this.noise[(this.noiseAt + i) % this.noise.length]! * gain;
      this.noiseAt = (this.noiseAt + samples.length) % this.noise.length;
    }
    return { samples, speechEnd: lead + last + 1 };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
