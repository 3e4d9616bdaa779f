import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Trust } from '../layers.ts';
import { verifyDocument } from '../signing.ts';
import { type LayerId, modelChunkTopic, modelNeedTopic } from '../topics.ts';
import type { FleetTransport } from '../transport.ts';
import { type ModelManifest, manifestProblem, modelManifestSchema, sha256Hex } from './manifest.ts';
import { unpackBlob } from './pack.ts';

/** How the agent takes a delivered model: load it in a new session and self-test, then swap it in. */
export interface ModelHooks<T = unknown> {
  /** Loads the model in `dir` in a new session and runs its own self-test sentences; throws why it failed. */
  loadAndSelfTest(dir: string, manifest: ModelManifest): Promise<T>;
  /** Makes the loaded model the one in use; the old one stays in use until this returns. */
  swap(loaded: T, dir: string, manifest: ModelManifest): Promise<void> | void;
}

export interface ModelReport {
  device: string;
  status: 'receiving' | 'applied' | 'rejected';
  target: LayerId | null;
  version: number | null;
  sha256: string | null;
  name: string | null;
  received: number;
  chunks: number;
  error: string | null;
  appliedAt: string | null;
  at: string;
}

export interface InstalledModel {
  sha256: string;
  version: number;
  dir: string;
}

export interface ModelReceiverOptions {
  transport: FleetTransport;
  prefix: string;
  deviceId: string;
  /** Where models are assembled (`incoming/`) and kept (`<sha256>/`, `current` → the one in use). */
  dir: string;
  trust: () => Trust;
  hooks: ModelHooks;
  installed: InstalledModel | null;
  seen: Partial<Record<LayerId, { version: number; sha256: string }>>;
  /** Persists the installed model and the version marks (called after every change to them). */
  persist: (installed: InstalledModel | null, seen: ModelReceiverOptions['seen']) => Promise<void> | void;
  publishReport: (report: ModelReport) => void;
  /**
   * Ask again for missing chunks after this long without progress (doubling, with jitter, per attempt).
   * A reconnect already brings the retained chunks again, so this only covers a broker that lost them:
   * generous, because on a busy broker every request makes the sender republish to every device.
   */
  stallMs?: number;
  maxRequests?: number;
}

interface Transfer {
  manifest: ModelManifest;
  have: Set<number>;
  dir: string;
  lastProgress: number;
  requests: number;
  timer: NodeJS.Timeout;
  finishing: boolean;
  /** Chunks being written to disk (a duplicate delivery meanwhile is ignored). */
  writing: Set<number>;
  jitter: number;
}

/**
 * Receives a model in chunks (retained on the broker, so a device that connects late or reconnects gets them
 * again), keeps verified chunks on disk so an interrupted transfer resumes, asks for missing or corrupt
 * chunks, then verifies, self-tests and swaps. Any failure keeps the old model and reports why.
 */
export class ModelReceiver extends EventEmitter {
  #manifests = new Map<LayerId, ModelManifest>();
  #transfer: Transfer | undefined;
  #installed: InstalledModel | null;
  #precedence: LayerId[] = [];
  #lastReport: ModelReport | undefined;

  constructor(private readonly options: ModelReceiverOptions) {
    super();
    this.#installed = options.installed;
  }

  get installed(): InstalledModel | null {
    return this.#installed;
  }

  get lastReport(): ModelReport | undefined {
    return this.#lastReport;
  }

  /** Layer precedence, lowest first (fleet, groups…, device), so a device's own model beats the fleet's. */
  setPrecedence(order: LayerId[]): void {
    this.#precedence = order;
    this.#pickDesired();
  }

  handleManifest(target: LayerId, payload: Buffer): void {
    if (payload.length === 0) return; // a cleared retained message
    let parsed: ModelManifest;
    try {
      const result = modelManifestSchema.safeParse(JSON.parse(payload.toString()));
      if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new Error(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
      }
      parsed = result.data as ModelManifest;
    } catch (error) {
      this.#reject(null, `bad model manifest on ${target}: ${(error as Error).message}`);
      return;
    }
    if (parsed.target !== target) {
      this.#reject(parsed, `manifest is for "${parsed.target}" but arrived on the topic of "${target}"`);
      return;
    }
    const problem = manifestProblem(parsed);
    if (problem) {
      this.#reject(parsed, `inconsistent manifest: ${problem}`);
      return;
    }
    const { trusted, requireSigned } = this.options.trust();
    const verdict = verifyDocument(parsed as unknown as Record<string, unknown>, trusted, requireSigned);
    if (!verdict.ok) {
      this.#reject(parsed, verdict.reason);
      return;
    }
    const seen = this.options.seen[target];
    if (seen && !(seen.version === parsed.version && seen.sha256 === parsed.sha256)) {
      if (parsed.version <= seen.version) {
        this.#reject(
          parsed,
          `replayed or stale model: version ${parsed.version} is not newer than ${seen.version}`,
        );
        return;
      }
    }
    // Persisted with the outcome of the transfer (one disk sync per model, not two).
    this.options.seen[target] = { version: parsed.version, sha256: parsed.sha256 };
    this.#manifests.set(target, parsed);
    this.#pickDesired();
  }

  /** Routes a message on `<prefix>/model/<sha>/chunk/<n>`; returns false when the topic is not a chunk. */
  handleChunk(topic: string, payload: Buffer): boolean {
    const match = /\/model\/([0-9a-f]{64})\/chunk\/(\d+)$/.exec(topic);
    if (!match) return false;
    const transfer = this.#transfer;
    if (!transfer || transfer.manifest.sha256 !== match[1] || payload.length === 0) return true;
    const index = Number(match[2]);
    if (index >= transfer.manifest.chunks.length || transfer.have.has(index)) return true;
    if (sha256Hex(payload) !== transfer.manifest.chunks[index]) {
      this.emit('chunk-rejected', { index, reason: 'sha256 mismatch' });
      this.#requestMissing(transfer, [index]);
      return true;
    }
    if (transfer.writing.has(index)) return true;
    transfer.writing.add(index);
    void this.#storeChunk(transfer, index, payload);
    return true;
  }

  /** Temp + rename: a crash mid-write leaves no half chunk (resume re-hashes what it finds anyway). */
  async #storeChunk(transfer: Transfer, index: number, payload: Buffer): Promise<void> {
    const file = join(transfer.dir, `${index}.chunk`);
    try {
      await writeFile(`${file}.tmp`, payload);
      await rename(`${file}.tmp`, file);
    } catch (error) {
      transfer.writing.delete(index);
      this.emit('chunk-rejected', { index, reason: `cannot store: ${(error as Error).message}` });
      return;
    }
    transfer.writing.delete(index);
    if (this.#transfer !== transfer) return;
    transfer.have.add(index);
    transfer.lastProgress = Date.now();
    transfer.requests = 0;
    this.emit('progress', { received: transfer.have.size, chunks: transfer.manifest.chunks.length });
    if (transfer.have.size === transfer.manifest.chunks.length) void this.#finish(transfer);
  }

  close(): void {
    if (this.#transfer) this.#abandon(this.#transfer);
  }

  #pickDesired(): void {
    let desired: ModelManifest | undefined;
    for (const id of this.#precedence) desired = this.#manifests.get(id) ?? desired;
    if (!desired) return;
    if (this.#transfer?.manifest.sha256 === desired.sha256) return;
    if (this.#installed?.sha256 === desired.sha256) {
      if (this.#transfer) this.#abandon(this.#transfer);
      if (this.#lastReport?.status !== 'applied') this.#report(desired, 'applied', null);
      return;
    }
    if (this.#transfer) this.#abandon(this.#transfer);
    this.#start(desired);
  }

  #start(manifest: ModelManifest): void {
    const dir = join(this.options.dir, 'incoming', manifest.sha256);
    mkdirSync(dir, { recursive: true });
    const have = new Set<number>();
    // Resume: keep chunks from an interrupted transfer that still match their hash.
    for (const name of readdirSync(dir)) {
      const index = /^(\d+)\.chunk$/.exec(name)?.[1];
      if (index === undefined) continue;
      const i = Number(index);
      if (i < manifest.chunks.length && sha256Hex(readFileSync(join(dir, name))) === manifest.chunks[i]) {
        have.add(i);
      } else {
        rmSync(join(dir, name), { force: true });
      }
    }
    const stallMs = this.options.stallMs ?? 8000;
    const transfer: Transfer = {
      manifest,
      have,
      dir,
      lastProgress: Date.now(),
      requests: 0,
      finishing: false,
      writing: new Set(),
      jitter: 0.75 + Math.random() * 0.5,
      timer: setInterval(() => this.#checkStall(transfer), Math.max(50, stallMs / 2)),
    };
    transfer.timer.unref();
    this.#transfer = transfer;
    this.emit('transfer-started', { manifest, resumed: have.size });
    this.#report(manifest, 'receiving', null);
    if (have.size === manifest.chunks.length) {
      void this.#finish(transfer);
      return;
    }
    // A failed subscribe shows up as a stall: the stall timer asks for chunks and finally reports why.
    void Promise.resolve(
      // QoS 0: the broker streams chunks without per-message acknowledgements to hundreds of devices; a lost
      // chunk is noticed (stall) and asked for again, and every chunk is hash-checked anyway.
      this.options.transport.subscribe([modelChunkTopic(this.options.prefix, manifest.sha256, '+')], 0),
    ).catch(() => {});
  }

  #checkStall(transfer: Transfer): void {
    if (this.#transfer !== transfer || transfer.finishing) return;
    // Back off: on a busy broker many devices stall at once, and every request makes the sender republish.
    const base = (this.options.stallMs ?? 8000) * 2 ** Math.min(transfer.requests, 4);
    if (Date.now() - transfer.lastProgress < base * transfer.jitter) return;
    if (transfer.requests >= (this.options.maxRequests ?? 8)) {
      const { have, manifest } = transfer;
      this.#abandon(transfer);
      this.#reject(manifest, `transfer stalled: ${have.size} of ${manifest.chunks.length} chunks received`);
      return;
    }
    const missing = transfer.manifest.chunks.map((_, i) => i).filter((i) => !transfer.have.has(i));
    this.#requestMissing(transfer, missing);
  }

  #requestMissing(transfer: Transfer, missing: number[]): void {
    transfer.requests++;
    transfer.lastProgress = Date.now();
    const payload = JSON.stringify({ device: this.options.deviceId, missing: missing.slice(0, 256) });
    this.options.transport.publish(modelNeedTopic(this.options.prefix, transfer.manifest.sha256), payload, {
      qos: 1,
    });
  }

  #abandon(transfer: Transfer): void {
    clearInterval(transfer.timer);
    void Promise.resolve(
      this.options.transport.unsubscribe([
        modelChunkTopic(this.options.prefix, transfer.manifest.sha256, '+'),
      ]),
    ).catch(() => {});
    if (this.#transfer === transfer) this.#transfer = undefined;
  }

  async #finish(transfer: Transfer): Promise<void> {
    if (transfer.finishing) return;
    transfer.finishing = true;
    this.#abandon(transfer);
    const { manifest } = transfer;
    const modelsDir = this.options.dir;
    const finalDir = join(modelsDir, manifest.sha256);
    const tempDir = join(modelsDir, `${manifest.sha256}.tmp-${process.pid}`);
    try {
      const blob = Buffer.concat(
        await Promise.all(manifest.chunks.map((_, i) => readFile(join(transfer.dir, `${i}.chunk`)))),
      );
      if (blob.length !== manifest.size)
        throw new Error(`assembled ${blob.length} bytes, expected ${manifest.size}`);
      if (sha256Hex(blob) !== manifest.sha256) throw new Error('assembled model does not match its sha256');
      await rm(tempDir, { recursive: true, force: true });
      await unpackBlob(blob, manifest.files, tempDir);
      await rm(finalDir, { recursive: true, force: true });
      await rename(tempDir, finalDir);
      let loaded: unknown;
      try {
        loaded = await this.options.hooks.loadAndSelfTest(finalDir, manifest);
      } catch (error) {
        throw new Error(`self-test failed: ${(error as Error).message}`);
      }
      await this.options.hooks.swap(loaded, finalDir, manifest);
      await pointCurrentAt(modelsDir, manifest.sha256);
      this.#installed = { sha256: manifest.sha256, version: manifest.version, dir: finalDir };
      await this.options.persist(this.#installed, this.options.seen);
      await rm(transfer.dir, { recursive: true, force: true });
      this.#report(manifest, 'applied', null);
      this.emit('installed', this.#installed);
    } catch (error) {
      await rm(tempDir, { recursive: true, force: true });
      if (this.#installed?.sha256 !== manifest.sha256) await rm(finalDir, { recursive: true, force: true });
      await rm(transfer.dir, { recursive: true, force: true });
      await Promise.resolve(this.options.persist(this.#installed, this.options.seen)).catch(() => {});
      this.#reject(manifest, (error as Error).message);
    }
  }

  #reject(manifest: ModelManifest | null, reason: string): void {
    this.emit('rejected', { manifest, reason });
    this.#report(manifest, 'rejected', reason);
  }

  #report(manifest: ModelManifest | null, status: ModelReport['status'], error: string | null): void {
    const now = new Date().toISOString();
    const transfer = this.#transfer?.manifest === manifest ? this.#transfer : undefined;
    const report: ModelReport = {
      device: this.options.deviceId,
      status,
      target: manifest?.target ?? null,
      version: manifest?.version ?? null,
      sha256: manifest?.sha256 ?? null,
      name: manifest?.name ?? null,
      received: status === 'applied' ? (manifest?.chunks.length ?? 0) : (transfer?.have.size ?? 0),
      chunks: manifest?.chunks.length ?? 0,
      error,
      appliedAt: status === 'applied' ? now : null,
      at: now,
    };
    this.#lastReport = report;
    this.options.publishReport(report);
  }
}

/** `current` is a symlink to the model in use, replaced by rename so it is never missing or half-made. */
async function pointCurrentAt(modelsDir: string, sha256: string): Promise<void> {
  const temp = join(modelsDir, `current.${process.pid}.tmp`);
  await rm(temp, { force: true });
  await symlink(sha256, temp);
  await rename(temp, join(modelsDir, 'current'));
  const dir = await open(modelsDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
