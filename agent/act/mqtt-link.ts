import { type MqttLink, topicMatches } from '../../drivers/mqtt/link.ts';
import type { InboundMessage, MqttConnection } from '../ingress/connection.ts';

/**
 * The agent's long-lived MQTT connection as the `MqttLink` drivers and safety topics use. The connection
 * keeps subscriptions across reconnects and recreated clients, so this adapter only fans messages out.
 */
export function linkFromConnection(
  connection: Pick<MqttConnection, 'subscribe' | 'unsubscribe' | 'publishAsync' | 'on' | 'off' | 'connected'>,
  options: { publishTimeoutMs?: number } = {},
): MqttLink & { detach(): void } {
  const handlers = new Set<{ filter: string; handler: (topic: string, payload: Buffer) => void }>();
  const onMessage = (message: InboundMessage) => {
    for (const entry of handlers)
      if (topicMatches(entry.filter, message.topic)) entry.handler(message.topic, message.payload);
  };
  connection.on('message', onMessage);
  const timeoutMs = options.publishTimeoutMs ?? 3000;
  return {
    async publish(topic, payload, publishOptions = {}) {
      const acked = await connection.publishAsync(
        topic,
        payload,
        { qos: publishOptions.qos ?? 1, retain: publishOptions.retain ?? false },
        timeoutMs,
      );
      if (!acked)
        throw new Error(connection.connected ? `not acknowledged within ${timeoutMs} ms` : 'broker offline');
    },
    async subscribe(filter, handler) {
      const entry = { filter, handler };
      handlers.add(entry);
      connection.subscribe({ [filter]: 1 });
      return async () => {
        handlers.delete(entry);
        if (![...handlers].some((h) => h.filter === filter)) connection.unsubscribe([filter]);
      };
    },
    detach() {
      connection.off('message', onMessage);
    },
  };
}

/** Feeds the deadman from the connection: broker lost → motion stopped and refused; back → allowed. */
export function bindDeadmanToConnection(
  connection: Pick<MqttConnection, 'on' | 'off' | 'connected'>,
  target: { onBrokerLost(): void; onBrokerRestored(): void },
): () => void {
  const lost = () => target.onBrokerLost();
  const restored = () => target.onBrokerRestored();
  connection.on('offline', lost);
  connection.on('connect', restored);
  if (!connection.connected) target.onBrokerLost();
  return () => {
    connection.off('offline', lost);
    connection.off('connect', restored);
  };
}
