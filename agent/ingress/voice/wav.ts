/**
 * WAV (RIFF) decoding and encoding. Hand-written because it is ~80 lines of header parsing and the npm codecs
 * pull in more than we need; PCM 8/16/24/32-bit and IEEE float are what microphones and Hermes send.
 */
import { mulberry32 } from '../../../models/factory/rng.ts';

export interface Audio {
  sampleRate: number;
  /** Mono samples in [-1, 1]. Multi-channel input is averaged. */
  samples: Float32Array;
}

export class WavError extends Error {
  override name = 'WavError';
}

export function decodeWav(data: Uint8Array): Audio {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tag = (offset: number) => String.fromCharCode(...data.subarray(offset, offset + 4));
  if (data.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    throw new WavError('not a WAV file (no RIFF/WAVE header)');
  }
  let format: { code: number; channels: number; rate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= data.length) {
    const id = tag(offset);
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > data.length) throw new WavError('fmt chunk truncated');
      let code = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format code is the first 2 bytes of the sub-format GUID.
      if (code === 0xfffe && size >= 26) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new WavError('data chunk before fmt chunk');
      // Streams written before their length is known (arecord, sox to a pipe) carry 0 or 0xffffffff.
      if (size === 0 || body + size > data.length) size = data.length - body;
      return { sampleRate: format.rate, samples: toMono(data.subarray(body, body + size), format) };
    }
    offset = body + size + (size % 2);
  }
  throw new WavError('no data chunk');
}

function toMono(bytes: Uint8Array, f: { code: number; channels: number; rate: number; bits: number }) {
  if (f.channels < 1 || f.rate < 1000 || f.rate > 384000) {
    throw new WavError(`unsupported WAV: ${f.channels} channels at ${f.rate} Hz`);
  }
  const width = f.bits / 8;
  const isFloat = f.code === 3 && f.bits === 32;
  if (!isFloat && !(f.code === 1 && [8, 16, 24, 32].includes(f.bits))) {
    throw new WavError(`unsupported WAV encoding: format ${f.code}, ${f.bits} bits (PCM or float32 only)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames = Math.floor(bytes.length / (width * f.channels));
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < f.channels; c++) {
      const at = (i * f.channels + c) * width;
      if (isFloat) sum += view.getFloat32(at, true);
      else if (f.bits === 16) sum += view.getInt16(at, true) / 32768;
      else if (f.bits === 8) sum += (view.getUint8(at) - 128) / 128;
      else if (f.bits === 24)
        sum += (((view.getUint8(at + 2) << 24) >> 8) | view.getUint16(at, true)) / 8388608;
      else sum += view.getInt32(at, true) / 2147483648;
    }
    out[i] = sum / f.channels;
  }
  return out;
}

/** 16-bit PCM mono WAV, the format PocketSphinx, aplay and Hermes satellites all accept. */
/** `dither`, when given, draws per sample: below 0.25 adds 1 (`encodeDitheredWav`). */
export function encodeWav(samples: Float32Array, sampleRate: number, dither?: () => number): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    const value = Math.round(s * 32767) + (dither && dither() < 0.25 ? 1 : 0);
    out.writeInt16LE(Math.min(32767, value), 44 + i * 2);
  }
  return out;
}

/**
 * 16-bit WAV with the dither PocketSphinx's front end adds (`-dither yes`: +1 on a random quarter of the
 * samples, so silence never has zero energy), drawn from a fresh seeded generator. The decoder's own dither
 * runs on from one utterance to the next in a long-running process, so the same audio could be heard
 * differently (measured: contrast margins moved by ±5 and a false accept came and went); this way a decode
 * depends only on its audio.
 */
export function encodeDitheredWav(samples: Float32Array, sampleRate: number, seed = 1): Buffer {
  return encodeWav(samples, sampleRate, mulberry32(seed));
}

/** Audio chunks joined into one buffer. */
export function concatSamples(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
