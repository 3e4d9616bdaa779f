/**
 * The commands the agent heard and accepted, kept on the device for self-adaptation: one WAV per utterance
 * (the audio as it came in, before noise suppression) and `heard.tsv`, an enrollment manifest
 * (`<file.wav><TAB><words>`) that `sling voice enrol heard.tsv` also reads. Only the newest `keep` are kept;
 * nothing leaves the device.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { encodeWav } from '../wav.ts';
import { parseManifest, type Recording } from './corpus.ts';

export const HEARD_MANIFEST = 'heard.tsv';
const STATE_FILE = 'adaptation.json';

/** How many commands were ever kept, and how many had been when an adaptation was last tried. */
export interface AdaptationState {
  kept: number;
  triedAt: number;
}

/** Entries past the newest `keep`: the oldest, dropped first. */
export function overflow<T>(entries: readonly T[], keep: number): T[] {
  return entries.slice(0, Math.max(0, entries.length - keep));
}

/**
 * The kept commands listed in `dir`'s manifest whose WAV is still there (a manifest edited by hand is read as the
 * user left it); a line that cannot be read throws a `CorpusError` naming it.
 */
export function readHeard(dir: string): Recording[] {
  const manifest = join(dir, HEARD_MANIFEST);
  return existsSync(manifest)
    ? parseManifest(readFileSync(manifest, 'utf8'), manifest).filter((r) => existsSync(r.wav))
    : [];
}

export class HeardStore {
  private entries: Recording[];
  private state: AdaptationState;

  constructor(
    readonly dir: string,
    private readonly keep: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.entries = readHeard(dir);
    this.state = readState(join(dir, STATE_FILE)) ?? { kept: this.entries.length, triedAt: 0 };
  }

  get size(): number {
    return this.entries.length;
  }

  get adaptation(): AdaptationState {
    return { ...this.state };
  }

  recordings(): Recording[] {
    return [...this.entries];
  }

  /** Keeps one heard command: its 16 kHz samples and the words heard. Drops the oldest past `keep`. */
  add(samples: Float32Array, words: string[], rate = 16000): void {
    this.state.kept++;
    const wav = join(this.dir, `${Date.now()}-${this.state.kept}.wav`);
    writeFileSync(wav, encodeWav(samples, rate));
    this.entries.push({ wav, words, source: `${HEARD_MANIFEST}: ${basename(wav)}` });
    for (const old of overflow(this.entries, this.keep)) rmSync(old.wav, { force: true });
    this.entries = this.entries.slice(-this.keep);
    this.save();
  }

  /** Records an adaptation tried (made or failed) from the commands kept by then. */
  markTried(keptAtStart: number): void {
    this.state.triedAt = keptAtStart;
    this.save();
  }

  private save(): void {
    const lines = this.entries.map((r) => `${basename(r.wav)}\t${r.words.join(' ')}`);
    writeAtomically(join(this.dir, HEARD_MANIFEST), `${lines.join('\n')}\n`);
    writeAtomically(join(this.dir, STATE_FILE), `${JSON.stringify(this.state)}\n`);
  }
}

function readState(file: string): AdaptationState | undefined {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as Partial<AdaptationState>;
    return typeof state.kept === 'number' && typeof state.triedAt === 'number'
      ? { kept: state.kept, triedAt: state.triedAt }
      : undefined;
  } catch {
    return undefined;
  }
}

// A power cut mid-write must not leave a half manifest that loses every kept command.
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
