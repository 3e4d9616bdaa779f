import type { MqttClient } from 'mqtt';

/**
 * The slice of an MQTT connection a driver needs. Injected so drivers share the agent's client (one
 * connection, one keepalive) and so the agent can hand over any client, not only mqtt.js.
 */
export interface MqttLink {
  publish(
    topic: string,
    payload: string | Buffer,
    options?: { qos?: 0 | 1 | 2; retain?: boolean },
  ): Promise<void>;
  /** Calls `handler` for every message on topics matching `filter`; resolves once the broker granted it. */
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>>;
}

/** MQTT topic filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Adapts an mqtt.js client: one 'message' listener fans out to the handlers whose filter matches. */
export function linkFromClient(client: MqttClient): MqttLink {
  const handlers = new Set<{ filter: string; handler: (topic: string, payload: Buffer) => void }>();
  client.on('message', (topic, payload) => {
    for (const entry of handlers) if (topicMatches(entry.filter, topic)) entry.handler(topic, payload);
  });
  return {
    async publish(topic, payload, options = {}) {
      await client.publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false });
    },
    async subscribe(filter, handler) {
      const entry = { filter, handler };
      handlers.add(entry);
      await client.subscribeAsync(filter, { qos: 1 });
      return async () => {
        handlers.delete(entry);
        if (![...handlers].some((h) => h.filter === filter)) await client.unsubscribeAsync(filter);
      };
    },
  };
}
