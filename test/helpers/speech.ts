import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import { HERMES } from '../../agent/ingress/voice/hermes.ts';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { synthesize } from '../../agent/ingress/voice/tts.ts';
import { decodeWav, encodeWav } from '../../agent/ingress/voice/wav.ts';
import { projectRoot } from '../../agent/paths.ts';
import { mulberry32 } from '../../models/factory/rng.ts';
import { buildVoiceModel } from '../../models/factory/voice/build.ts';
import { readVoiceSpec } from '../../models/factory/voice/spec.ts';

/** Speech synthesized during the test run (espeak-ng), so no audio is committed. */
export async function speech(text: string, voice = 'en-us', wordsPerMinute = 170) {
  return decodeWav(await synthesize(text, { voice, wordsPerMinute }));
}

/** Concatenates clips with silence before, between and after, at one sample rate. */
export function withSilence(clips: Float32Array[], sampleRate: number, gapS = 0.8): Buffer {
  const gap = Math.round(gapS * sampleRate);
  const total = clips.reduce((n, c) => n + c.length + gap, gap);
  const out = new Float32Array(total);
  let at = gap;
  for (const c of clips) {
    out.set(c, at);
    at += c.length + gap;
  }
  return encodeWav(out, sampleRate);
}

export const voiceFixtureSpec = resolve(projectRoot, 'test/fixtures/voice/intents.yaml');

/** Builds the fixture command set's grammar into a fresh directory; returns the grammar dir. */
export async function buildFixtureGrammar(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sling-voice-model-'));
  const built = await buildVoiceModel(readVoiceSpec(voiceFixtureSpec), dir, voiceFixtureSpec);
  return built.dir;
}

/** A copy of a built voice grammar whose manifest says to decode with its trigram model, as large specs are. */
export function trigramCopy(grammarDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sling-voice-lm-'));
  for (const f of ['grammar.jsgf', 'grammar.lm', 'grammar.dict', 'loop.jsgf', 'loop.dict']) {
    copyFileSync(join(grammarDir, f), join(dir, f));
  }
  const manifest = JSON.parse(readFileSync(join(grammarDir, 'voice.json'), 'utf8'));
  writeFileSync(join(dir, 'voice.json'), JSON.stringify({ ...manifest, decoder: 'lm' }));
  return dir;
}

/** Synthesized speech at 16 kHz with 0.5 s of silence before and 1 s after. */
export async function paddedSpeech(text: string): Promise<Float32Array> {
  const clip = await speech(text);
  const samples = resample(clip.samples, clip.sampleRate, 16000);
  const all = new Float32Array(8000 + samples.length + 16000);
  all.set(samples, 8000);
  return all;
}

/** Adds seeded white noise of peak `amplitude` in place (a room is never silent; seeded so runs repeat). */
export function addNoise(samples: Float32Array, amplitude: number, seed = 1): Float32Array {
  const rng = mulberry32(seed);
  for (let i = 0; i < samples.length; i++) samples[i]! += amplitude * (2 * rng() - 1);
  return samples;
}

/**
 * A Hermes satellite saying `text`: `paddedSpeech` published as 16 kHz WAV chunks on its audioFrame topic,
 * with white noise of peak `noise` when given.
 */
export async function publishSpeech(
  client: MqttClient,
  siteId: string,
  text: string,
  chunk = 2048,
  noise = 0,
) {
  const all = addNoise(await paddedSpeech(text), noise);
  for (let at = 0; at < all.length; at += chunk) {
    await client.publishAsync(HERMES.audioFrame(siteId), encodeWav(all.subarray(at, at + chunk), 16000));
  }
}
