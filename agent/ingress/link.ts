import type { MqttLink } from '../../drivers/mqtt/link.ts';
import { topicMatches } from '../../drivers/mqtt/link.ts';
import type { MqttConnection } from './connection.ts';

/**
 * The agent's connection as the `MqttLink` drivers and safety use: one connection for everything, and
 * subscriptions that survive reconnects and recreated clients. `dispatch` is fed every inbound message.
 */
export class AgentLink implements MqttLink {
  private readonly handlers = new Set<{
    filter: string;
    handler: (topic: string, payload: Buffer) => void;
  }>();

  constructor(private readonly connection: MqttConnection) {}

  async publish(
    topic: string,
    payload: string | Buffer,
    options: { qos?: 0 | 1 | 2; retain?: boolean } = {},
  ) {
    const qos = options.qos === 0 ? 0 : 1;
    this.connection.publish(topic, payload, { qos, retain: options.retain ?? false });
  }

  async subscribe(filter: string, handler: (topic: string, payload: Buffer) => void) {
    const entry = { filter, handler };
    this.handlers.add(entry);
    await this.connection.subscribe({ [filter]: 1 });
    return async () => {
      this.handlers.delete(entry);
      if (![...this.handlers].some((h) => h.filter === filter)) this.connection.unsubscribe([filter]);
    };
  }

  /** True when a driver or safety handler took the message. */
  dispatch(topic: string, payload: Buffer): boolean {
    let taken = false;
    for (const entry of this.handlers) {
      if (!topicMatches(entry.filter, topic)) continue;
      taken = true;
      try {
        entry.handler(topic, payload);
      } catch {
        // a handler's failure must not stop the others or the agent
      }
    }
    return taken;
  }
}
