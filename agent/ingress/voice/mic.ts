import { type ChildProcess, spawn } from 'node:child_process';
import { z } from 'zod';

/** `voice.microphone:` a local microphone through ALSA, heard like a Hermes satellite. */
export const microphoneSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('capture the local microphone with arecord (alsa-utils)'),
    device: z.string().min(1).default('default').describe('ALSA capture device (`arecord -L` lists them)'),
    siteId: z.string().min(1).default('default').describe('the site its speech is heard from'),
    command: z
      .array(z.string().min(1))
      .min(1)
      .default(['arecord', '-q', '-D', '{device}', '-f', 'S16_LE', '-r', '16000', '-c', '1', '-t', 'raw'])
      .describe('capture command writing 16 kHz mono S16_LE raw PCM to stdout; {device} is replaced'),
  })
  .prefault({});

export type MicrophoneConfig = z.infer<typeof microphoneSchema>;

export const MIC_SAMPLE_RATE = 16000;

/** Little-endian signed 16-bit PCM → samples in [-1, 1]. */
export function s16leToFloat32(pcm: Buffer): Float32Array {
  const out = new Float32Array(pcm.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = pcm.readInt16LE(i * 2) / 32768;
  return out;
}

/** Delay before the n-th restart in a row (0-based): doubling from `first`, capped at `max`. */
export function backoffMs(restarts: number, first = 1000, max = 30000): number {
  return Math.min(max, first * 2 ** Math.min(restarts, 16));
}

export interface MicrophoneOptions {
  config: MicrophoneConfig;
  /** Samples (16 kHz mono) in the order captured. */
  onAudio: (samples: Float32Array, sampleRate: number) => void;
  /** Capture problems (not installed, device busy, exited): reported, then retried with backoff. */
  onError: (error: Error) => void;
  onStart?: (pid: number | undefined) => void;
  /** Delay of the first restart; doubles per failure in a row up to `maxBackoffMs`. */
  firstBackoffMs?: number;
  maxBackoffMs?: number;
  /** A capture that ran this long was healthy: the next failure starts the backoff again. */
  healthyAfterMs?: number;
}

/**
 * Captures a local microphone with ALSA's `arecord` as a child process (no npm capture package is needed:
 * arecord is in every ALSA install and writes exactly the raw format the VAD wants). A capture that fails to
 * start or exits is reported and restarted with exponential backoff; it never throws into the agent.
 */
export class Microphone {
  private child?: ChildProcess;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private failures = 0;
  private odd?: Buffer;
  starts = 0;

  constructor(private readonly options: MicrophoneOptions) {}

  get command(): string[] {
    const { command, device } = this.options.config;
    return command.map((arg) => arg.replaceAll('{device}', device));
  }

  start(): void {
    this.stopped = false;
    this.spawn();
  }

  private spawn(): void {
    if (this.stopped) return;
    const [file, ...args] = this.command;
    const startedAt = Date.now();
    let stderr = '';
    let reported = false;
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    this.odd = undefined;
    child.stdout!.on('data', (data: Buffer) => this.data(data));
    child.stderr!.on('data', (data: Buffer) => {
      stderr = (stderr + data.toString()).slice(-500);
    });
    child.once('spawn', () => this.options.onStart?.(child.pid));
    const failed = (reason: string) => {
      if (reported) return;
      reported = true;
      if (this.child === child) this.child = undefined;
      if (this.stopped) return;
      if (Date.now() - startedAt >= (this.options.healthyAfterMs ?? 10000)) this.failures = 0;
      const delay = backoffMs(this.failures++, this.options.firstBackoffMs, this.options.maxBackoffMs);
      this.options.onError(
        new Error(`microphone (${this.command.join(' ')}): ${reason}; retrying in ${delay} ms`),
      );
      this.timer = setTimeout(() => this.spawn(), delay);
      this.timer.unref();
    };
    child.once('error', (error: NodeJS.ErrnoException) =>
      failed(
        error.code === 'ENOENT'
          ? `${file} not found (install alsa-utils, or set voice.microphone.command)`
          : error.message,
      ),
    );
    child.once('close', (code, signal) =>
      failed(`exited ${signal ?? code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`),
    );
  }

  private data(data: Buffer): void {
    // A chunk may end in the middle of a sample: keep the odd byte for the next one.
    const bytes = this.odd ? Buffer.concat([this.odd, data]) : data;
    const even = bytes.length & ~1;
    this.odd = even < bytes.length ? bytes.subarray(even) : undefined;
    if (even > 0) this.options.onAudio(s16leToFloat32(bytes.subarray(0, even)), MIC_SAMPLE_RATE);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.child?.kill();
    this.child = undefined;
  }
}
