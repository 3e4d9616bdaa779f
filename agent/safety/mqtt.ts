import type { MqttLink } from '../../drivers/mqtt/link.ts';

export interface SafetyTopics {
  /** Any message on these trips the e-stop (e.g. `sling/sling-01/estop`, a fleet-wide `sling/all/estop`). */
  estop: string[];
  /** Optional: a message whose payload is `reset` (or `{"reset": true}`) releases the latch. */
  reset?: string;
}

/**
 * Binds e-stop (and optionally reset) topics to the safety layer over the agent's MQTT connection. Any
 * payload trips: an e-stop must never be ignored because a sender formatted it differently.
 * Returns a function that unsubscribes.
 */
export async function bindSafetyTopics(
  link: MqttLink,
  topics: SafetyTopics,
  target: { estop(source: string, reason?: string): void; resetEstop(source: string): boolean },
): Promise<() => Promise<void>> {
  const unsubscribers: (() => Promise<void>)[] = [];
  for (const topic of topics.estop) {
    unsubscribers.push(
      await link.subscribe(topic, (actual, payload) => {
        const text = payload.toString('utf8').slice(0, 200);
        target.estop(`mqtt:${actual}`, text ? `MQTT e-stop: ${text}` : 'MQTT e-stop');
      }),
    );
  }
  if (topics.reset) {
    unsubscribers.push(
      await link.subscribe(topics.reset, (actual, payload) => {
        const text = payload.toString('utf8').trim();
        let wantsReset = text === 'reset';
        try {
          wantsReset ||= (JSON.parse(text) as { reset?: unknown }).reset === true;
        } catch {}
        if (wantsReset) target.resetEstop(`mqtt:${actual}`);
      }),
    );
  }
  return async () => {
    await Promise.allSettled(unsubscribers.map((u) => u()));
  };
}
