import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SlingConfig } from '../config/schema.ts';
import type { Layers } from './layers.ts';
import type { LayerId } from './topics.ts';

/**
 * Replaces a file so a crash leaves either the old or the new content, never a torn one: write a temp file
 * in the same directory, fsync it, rename over the target, fsync the directory so the rename is durable.
 */
export function writeFileAtomic(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncDir(dirname(path));
}

/** `writeFileAtomic` without blocking the event loop while the disk syncs (many devices share a process). */
export async function writeFileAtomicAsync(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What survives a reboot: the layers that made the last-known-good config, and the version marks. */
export interface FleetState {
  format: 1;
  /** Layers of the last config that applied successfully. */
  layers: Layers;
  /** Highest version consumed per layer (replay protection survives reboots). */
  seen: Partial<Record<LayerId, { version: number; hash: string }>>;
  lastKnownGood: SlingConfig | null;
  savedAt: string | null;
  /** The model delivered over MQTT that is in use, if any. */
  model: { sha256: string; version: number; dir: string } | null;
  /** Highest model manifest version consumed per layer. */
  modelSeen: Partial<Record<LayerId, { version: number; sha256: string }>>;
}

export const emptyFleetState = (): FleetState => ({
  format: 1,
  layers: {},
  seen: {},
  lastKnownGood: null,
  savedAt: null,
  model: null,
  modelSeen: {},
});

export class FleetStore {
  readonly file: string;
  constructor(readonly dir: string) {
    this.file = join(dir, 'state.json');
  }

  /** The persisted state; a missing file is a first boot, an unreadable one is reported and ignored. */
  load(): { state: FleetState; error?: string } {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyFleetState() };
      return { state: emptyFleetState(), error: `cannot read ${this.file}: ${(error as Error).message}` };
    }
    try {
      const state = JSON.parse(text) as FleetState;
      if (state.format !== 1) throw new Error(`unknown format ${String(state.format)}`);
      return { state: { ...emptyFleetState(), ...state } };
    } catch (error) {
      return { state: emptyFleetState(), error: `ignoring ${this.file}: ${(error as Error).message}` };
    }
  }

  #saving: Promise<void> = Promise.resolve();

  save(state: FleetState): void {
    writeFileAtomic(this.file, this.#serialise(state));
  }

  /** Saves in order (a later state never lands before an earlier one) without blocking the event loop. */
  saveAsync(state: FleetState): Promise<void> {
    const text = this.#serialise(state);
    const run = this.#saving.then(() => writeFileAtomicAsync(this.file, text));
    this.#saving = run.catch(() => {});
    return run;
  }

  #serialise(state: FleetState): string {
    return `${JSON.stringify({ ...state, savedAt: new Date().toISOString() }, null, 2)}\n`;
  }
}
