import { EventEmitter } from 'node:events';
import type { StateSink, StateValue, StateView } from './types.ts';

/**
 * The live state of devices and sensors. Latest value wins, so memory is bounded by the number of keys,
 * not by the publish rate. Emits 'change' (key, value) on every set.
 */
export class StateStore extends EventEmitter implements StateSink, StateView {
  private readonly values = new Map<string, StateValue>();

  /** @param staleAfterMs per-key-prefix age after which a value is reported stale (longest prefix wins). */
  constructor(
    private staleAfterMs: Record<string, number> = {},
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  set(key: string, value: unknown, at: number = this.now()): void {
    this.values.set(key, { value, at });
    this.emit('change', key, value);
  }

  get(key: string): StateValue | undefined {
    const entry = this.values.get(key);
    if (!entry) return undefined;
    return this.isStale(key, entry) ? { ...entry, stale: true } : entry;
  }

  snapshot(): Record<string, StateValue> {
    const out: Record<string, StateValue> = {};
    for (const key of [...this.values.keys()].sort()) out[key] = this.get(key)!;
    return out;
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  /** Replaces the staleness rules (config applied at run time). */
  setStaleness(staleAfterMs: Record<string, number>): void {
    this.staleAfterMs = staleAfterMs;
  }

  get size(): number {
    return this.values.size;
  }

  private isStale(key: string, entry: StateValue): boolean {
    let limit: number | undefined;
    let matched = -1;
    for (const [prefix, ms] of Object.entries(this.staleAfterMs)) {
      if ((key === prefix || key.startsWith(`${prefix}.`) || prefix === '') && prefix.length > matched) {
        limit = ms;
        matched = prefix.length;
      }
    }
    return limit !== undefined && this.now() - entry.at > limit;
  }
}
