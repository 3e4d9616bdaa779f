import { LRUCache } from 'lru-cache';
import { matches } from 'mqtt-pattern';

// Admission policy for inbound commands: size, allow-list, rate. Pure apart from the clock it is given.

export interface GuardSettings {
  maxPayloadBytes: number;
  perSecond: number;
  burst: number;
  /** MQTT patterns that may command. */
  allowTopics: string[];
  /** Sources that may command; undefined = any. */
  allowClients?: string[];
}

export type Verdict =
  | { ok: true }
  | { ok: false; reason: string; code: 'too_large' | 'not_allowed' | 'rate_limited' };

interface Bucket {
  tokens: number;
  at: number;
}

export class CommandGuard {
  // Bounded so a flood of invented source names cannot grow memory.
  private readonly buckets = new LRUCache<string, Bucket>({ max: 10_000 });

  constructor(
    private settings: GuardSettings,
    private readonly now: () => number = Date.now,
  ) {}

  update(settings: GuardSettings): void {
    this.settings = settings;
  }

  checkSize(bytes: number): Verdict {
    const max = this.settings.maxPayloadBytes;
    return bytes <= max
      ? { ok: true }
      : { ok: false, code: 'too_large', reason: `payload of ${bytes} bytes exceeds the ${max}-byte limit` };
  }

  checkAllowed(topic: string, source: string | undefined): Verdict {
    if (!this.settings.allowTopics.some((pattern) => matches(pattern, topic))) {
      return { ok: false, code: 'not_allowed', reason: `topic ${topic} is not allowed to command` };
    }
    const clients = this.settings.allowClients;
    if (clients && (source === undefined || !clients.includes(source))) {
      return {
        ok: false,
        code: 'not_allowed',
        reason: `source ${source ?? '(none)'} is not on the allow-list`,
      };
    }
    return { ok: true };
  }

  /** Token bucket per source: `burst` at once, refilled at `perSecond`. */
  checkRate(source: string): Verdict {
    const now = this.now();
    const { perSecond, burst } = this.settings;
    const bucket = this.buckets.get(source) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(source, bucket);
    if (bucket.tokens < 1) {
      return { ok: false, code: 'rate_limited', reason: `source ${source} exceeds ${perSecond} commands/s` };
    }
    bucket.tokens -= 1;
    return { ok: true };
  }
}
