import { clean, exec } from 'mqtt-pattern';
import type { SensorSubscription } from './config.ts';

// Maps sensor stream messages to state keys and values. Pure: the caller writes the result to the store.

export type SensorReading =
  | { ok: true; key: string; value: number | string | boolean }
  | { ok: false; reason: string };

export class SensorMapper {
  constructor(private readonly subscriptions: readonly SensorSubscription[]) {}

  /** Broker subscriptions (named wildcards removed). */
  get patterns(): string[] {
    return [...new Set(this.subscriptions.map((s) => clean(s.topic)))];
  }

  /** Staleness per key prefix (the part of the key before the first `{`), for the StateStore. */
  get staleness(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const sub of this.subscriptions) {
      if (sub.staleAfterS === undefined) continue;
      const prefix = sub.key.split('{')[0]!.replace(/\.$/, '');
      out[prefix] = sub.staleAfterS * 1000;
    }
    return out;
  }

  /** The first subscription whose pattern matches decides; undefined when none does. */
  map(topic: string, payload: Buffer): SensorReading | undefined {
    let route = this.routes.get(topic);
    if (route === undefined) {
      route = this.route(topic);
      // Streams reuse few topics: remembering each topic's key keeps pattern matching off the hot path.
      if (this.routes.size >= 10_000) this.routes.clear();
      this.routes.set(topic, route);
    }
    return route === null ? undefined : readValue(payload, route.field, route.key);
  }

  private readonly routes = new Map<string, { key: string; field: string | undefined } | null>();

  private route(topic: string): { key: string; field: string | undefined } | null {
    for (const sub of this.subscriptions) {
      const params = exec(sub.topic, topic) as Record<string, string | string[]> | null;
      if (params === null) continue;
      const key = sub.key.replace(/\{([^}]+)\}/g, (_, name: string) => {
        // A multi-level wildcard becomes dotted key levels; anything else that is not a key character is `_`.
        const value = params[name];
        const levels = Array.isArray(value) ? value : (value ?? '').split('/');
        return levels.map((level) => level.replace(/[^A-Za-z0-9_-]/g, '_')).join('.');
      });
      return { key, field: sub.field };
    }
    return null;
  }
}

function readValue(payload: Buffer, field: string | undefined, key: string): SensorReading {
  const text = payload.toString('utf8').trim();
  if (field === undefined) {
    const number = Number(text);
    if (text === '' || !Number.isFinite(number)) {
      return { ok: false, reason: `${key}: payload "${text.slice(0, 40)}" is not a number` };
    }
    return { ok: true, key, value: number };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${key}: payload is not JSON (field ${field} expected)` };
  }
  let value: unknown = doc;
  for (const part of field.split('.')) {
    value =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, key, value };
  if (typeof value === 'string' || typeof value === 'boolean') return { ok: true, key, value };
  return { ok: false, reason: `${key}: field ${field} is missing or not a number/string/boolean` };
}
