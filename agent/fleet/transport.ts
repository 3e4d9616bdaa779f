import type { MqttClient } from 'mqtt';

export interface FleetMessage {
  topic: string;
  payload: Buffer;
  properties?: { responseTopic?: string; correlationData?: Buffer };
}

export interface FleetPublishOptions {
  qos: 0 | 1;
  retain?: boolean;
  properties?: { correlationData?: Buffer };
}

/**
 * What the fleet client needs from an MQTT connection. The agent's own connection (reconnects, offline
 * queue) and a bare mqtt.js client (tests, simulated fleets) both fit; see `mqttTransport`.
 */
export interface FleetTransport {
  /** QoS 1 unless told; bulk data (model chunks) uses 0 and recovers losses itself. */
  subscribe(topics: string[], qos?: 0 | 1): void | Promise<void>;
  unsubscribe(topics: string[]): void | Promise<void>;
  publish(topic: string, payload: string | Buffer, options: FleetPublishOptions): void;
  /** Calls `listener` for every inbound message; returns the function that stops it. */
  listen(listener: (message: FleetMessage) => void): () => void;
}

export function mqttTransport(client: MqttClient): FleetTransport {
  return {
    subscribe: async (topics, qos = 1) => {
      if (topics.length > 0) await client.subscribeAsync(topics, { qos });
    },
    unsubscribe: async (topics) => {
      if (topics.length > 0 && client.connected) await client.unsubscribeAsync(topics);
    },
    publish: (topic, payload, options) => {
      client.publish(topic, payload, options);
    },
    listen: (listener) => {
      const onMessage = (
        topic: string,
        payload: Buffer,
        packet: { properties?: FleetMessage['properties'] },
      ) => listener({ topic, payload, ...(packet.properties ? { properties: packet.properties } : {}) });
      client.on('message', onMessage);
      return () => client.off('message', onMessage);
    },
  };
}
