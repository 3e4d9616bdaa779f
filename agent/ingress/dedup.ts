import { LRUCache } from 'lru-cache';

/**
 * Remembers the results of recent command ids so a redelivered or duplicated command is answered again
 * instead of executed twice. A pending entry covers a duplicate that arrives while the first is running.
 */
export class CommandDedup<T extends object> {
  private readonly done: LRUCache<string, T>;
  private readonly pending = new Map<string, Promise<T>>();

  constructor(max: number) {
    this.done = new LRUCache({ max });
  }

  /** The earlier result (or the one being computed) for this id, if any. */
  seen(id: string): T | Promise<T> | undefined {
    return this.done.get(id) ?? this.pending.get(id);
  }

  track(id: string, work: Promise<T>): Promise<T> {
    this.pending.set(id, work);
    return work
      .then((result) => {
        this.done.set(id, result);
        return result;
      })
      .finally(() => this.pending.delete(id));
  }

  get size(): number {
    return this.done.size + this.pending.size;
  }
}
