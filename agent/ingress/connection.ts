import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.ts';
import { backoffDelay } from './backoff.ts';

export interface ConnectionSettings {
  url: string;
  clientId: string;
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  keepaliveS: number;
  /** Persistent session: the broker keeps subscriptions and queued QoS 1 messages while we are away. */
  persistentSession: boolean;
  will?: { topic: string; payload: string; retain: boolean; qos: 0 | 1 };
  reconnect: { minMs: number; maxMs: number; livenessMs: number };
  /** Results published while offline are kept up to this many (oldest dropped first). */
  offlineQueue: number;
}

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  /** MQTT 5 properties (response topic, correlation data, user properties), when present. */
  properties?: mqtt.IPublishPacket['properties'];
  retain: boolean;
}

export interface ConnectionStats {
  connects: number;
  disconnects: number;
  clientsCreated: number;
  received: number;
  published: number;
  queuedOffline: number;
  droppedOffline: number;
}

interface QueuedPublish {
  topic: string;
  payload: string | Buffer;
  options: IClientPublishOptions;
}

/** Turns config into mqtt.js options; pure apart from reading the TLS files it names. */
export function clientOptions(settings: ConnectionSettings): IClientOptions {
  const options: IClientOptions = {
    clientId: settings.clientId,
    protocolVersion: settings.protocolVersion,
    keepalive: settings.keepaliveS,
    clean: !settings.persistentSession,
    // Resubscription is ours (see `subscribeAll`) so it also covers a recreated client.
    resubscribe: false,
    reconnectPeriod: backoffDelay(0, settings.reconnect.minMs, settings.reconnect.maxMs),
    connectTimeout: 10_000,
    queueQoSZero: false,
    // mqtt-packet's default pre-builds a Buffer for each of the 65,536 message ids: 6 MiB of heap for
    // nothing a publish rate of ours needs. The switch is process-wide (every client and the embedded broker).
    writeCache: false,
  };
  if (settings.protocolVersion === 5 && settings.persistentSession) {
    // MQTT 5 ends a session at disconnect unless it is given an expiry.
    options.properties = { sessionExpiryInterval: 7 * 24 * 3600 };
  }
  if (settings.username !== undefined) options.username = settings.username;
  if (settings.password !== undefined) options.password = settings.password;
  if (settings.tls) {
    if (settings.tls.ca) options.ca = readFileSync(settings.tls.ca);
    if (settings.tls.cert) options.cert = readFileSync(settings.tls.cert);
    if (settings.tls.key) options.key = readFileSync(settings.tls.key);
    options.rejectUnauthorized = settings.tls.rejectUnauthorized;
  }
  if (settings.will) {
    options.will = { ...settings.will, payload: Buffer.from(settings.will.payload) };
  }
  return options;
}

/**
 * One MQTT connection that stays up: reconnects with exponential backoff and jitter, resubscribes when the
 * broker lost the session, recreates the client when mqtt.js stops retrying (liveness check), falls back to
 * MQTT 3.1.1 when the broker refuses 5, keeps a bounded queue of publishes made while offline, and turns
 * Nagle's algorithm off (QoS 1 round trips otherwise wait for delayed ACKs: ~45 messages/s).
 * Events: 'connect' (sessionPresent), 'offline', 'message' (InboundMessage), 'client' (new MqttClient).
 */
export class MqttConnection extends EventEmitter {
  private client: MqttClient | undefined;
  private readonly subscriptions = new Map<string, 0 | 1>();
  private readonly offline: QueuedPublish[] = [];
  private attempt = 0;
  private lastProgress = Date.now();
  private liveness: NodeJS.Timeout | undefined;
  private closing = false;
  readonly stats: ConnectionStats = {
    connects: 0,
    disconnects: 0,
    clientsCreated: 0,
    received: 0,
    published: 0,
    queuedOffline: 0,
    droppedOffline: 0,
  };

  constructor(
    private settings: ConnectionSettings,
    private readonly log: Logger,
  ) {
    super();
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  get protocolVersion(): 4 | 5 {
    return this.settings.protocolVersion;
  }

  get url(): string {
    return this.settings.url;
  }

  /** The live mqtt.js client (it changes when the liveness check recreates it; listen for 'client'). */
  get mqtt(): MqttClient | undefined {
    return this.client;
  }

  get offlineQueueDepth(): number {
    return this.offline.length;
  }

  /** Starts connecting; resolves at the first connection, or after `waitMs` (then keeps trying). */
  async start(waitMs = 5000): Promise<boolean> {
    this.createClient();
    const check = Math.max(250, Math.floor(this.settings.reconnect.livenessMs / 4));
    this.liveness = setInterval(() => this.checkLiveness(), check);
    this.liveness.unref();
    if (this.connected) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off('connect', onConnect);
        resolve(false);
      }, waitMs);
      const onConnect = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.once('connect', onConnect);
    });
  }

  /** Remembered across reconnects and recreated clients; resolves once granted (or queued while offline). */
  subscribe(topics: Record<string, 0 | 1>): Promise<void> {
    const fresh: Record<string, { qos: 0 | 1 }> = {};
    for (const [topic, qos] of Object.entries(topics)) {
      if (this.subscriptions.get(topic) === qos) continue;
      this.subscriptions.set(topic, qos);
      fresh[topic] = { qos };
    }
    if (!this.connected || Object.keys(fresh).length === 0) return Promise.resolve();
    return new Promise((resolve) =>
      this.client!.subscribe(fresh, (error) => {
        this.onSubscribed(error);
        resolve();
      }),
    );
  }

  unsubscribe(topics: string[]): void {
    const gone = topics.filter((t) => this.subscriptions.delete(t));
    if (this.connected && gone.length > 0) this.client!.unsubscribe(gone);
  }

  /** Publishes now when connected; otherwise queues QoS 1 (bounded, oldest dropped) for the next connection. */
  publish(topic: string, payload: string | Buffer, options: IClientPublishOptions = {}): void {
    if (this.connected) {
      this.stats.published++;
      this.client!.publish(topic, payload, this.forProtocol(options), (error) => {
        if (error) this.log.debug({ topic, err: error.message }, 'publish not completed');
      });
      return;
    }
    // QoS 0 (events, state, health) is not kept: it would push results out of the queue, and state is
    // republished on reconnect anyway.
    if ((options.qos ?? 0) === 0) return;
    if (this.settings.offlineQueue === 0) {
      this.stats.droppedOffline++;
      return;
    }
    if (this.offline.length >= this.settings.offlineQueue) {
      this.offline.shift();
      this.stats.droppedOffline++;
    }
    this.offline.push({ topic, payload, options });
    this.stats.queuedOffline++;
  }

  /** Publishes and resolves once the broker has it (QoS 1) or the timeout passes. */
  publishAsync(topic: string, payload: string | Buffer, options: IClientPublishOptions, timeoutMs: number) {
    return new Promise<boolean>((resolve) => {
      if (!this.connected) return resolve(false);
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.stats.published++;
      this.client!.publish(topic, payload, this.forProtocol(options), (error) => {
        clearTimeout(timer);
        resolve(!error);
      });
    });
  }

  /** Applies new settings (broker, credentials, will...) by recreating the client. */
  reconfigure(settings: ConnectionSettings): void {
    this.settings = settings;
    this.recreate('settings changed');
  }

  /** Disconnects cleanly (DISCONNECT sent, so no last will) after in-flight QoS 1 messages are acked. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.closing = true;
    clearInterval(this.liveness);
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.end(true, () => resolve());
      }, timeoutMs);
      client.end(false, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private forProtocol(options: IClientPublishOptions): IClientPublishOptions {
    if (this.settings.protocolVersion === 5 || !options.properties) return options;
    const { properties: _, ...rest } = options;
    return rest;
  }

  private createClient(): void {
    const client = mqtt.connect(this.settings.url, clientOptions(this.settings));
    this.client = client;
    this.stats.clientsCreated++;
    this.lastProgress = Date.now();
    client.on('connect', (connack) => {
      if (client !== this.client) return;
      this.attempt = 0;
      this.lastProgress = Date.now();
      this.stats.connects++;
      // Nagle off for every connection (mqtt.js does not expose it): see the class comment.
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      // Under back-pressure mqtt.js waits for 'drain' once per publish; a burst of results (bench:agent: 5,000
      // commands at once) queues thousands of those one-shot listeners, which Node reports as a leak.
      client.stream.setMaxListeners(0);
      client.options.reconnectPeriod = backoffDelay(
        0,
        this.settings.reconnect.minMs,
        this.settings.reconnect.maxMs,
      );
      if (!connack.sessionPresent) this.subscribeAll();
      this.flushOffline();
      this.emit('connect', connack.sessionPresent);
    });
    client.on('reconnect', () => {
      if (client !== this.client) return;
      this.lastProgress = Date.now();
      // mqtt.js retries at a fixed period from a setInterval; clearing it makes the next failure arm a new
      // one with the next backoff delay (there is no public hook for this).
      const internal = client as unknown as { reconnectTimer: NodeJS.Timeout | null };
      if (internal.reconnectTimer) clearInterval(internal.reconnectTimer);
      internal.reconnectTimer = null;
      this.attempt++;
      client.options.reconnectPeriod = backoffDelay(
        this.attempt,
        this.settings.reconnect.minMs,
        this.settings.reconnect.maxMs,
      );
    });
    client.on('close', () => {
      if (client !== this.client) return;
      this.lastProgress = Date.now();
    });
    client.on('offline', () => {
      if (client !== this.client) return;
      this.stats.disconnects++;
      this.emit('offline');
    });
    client.on('error', (error: Error & { code?: number | string }) => {
      if (client !== this.client) return;
      // 1 (3.1.1) / 132 (5): unsupported protocol version, e.g. aedes only speaks 3.1.1.
      if (this.settings.protocolVersion === 5 && (error.code === 1 || error.code === 132)) {
        this.log.warn(
          { url: this.settings.url },
          'broker refused MQTT 5; using MQTT 3.1.1 (no response topics)',
        );
        this.settings = { ...this.settings, protocolVersion: 4 };
        this.recreate('protocol fallback');
        return;
      }
      this.log.warn({ err: error.message, code: error.code }, 'mqtt error');
    });
    client.on('message', (topic, payload, packet) => {
      if (client !== this.client) return;
      this.stats.received++;
      const message: InboundMessage = { topic, payload, retain: packet.retain };
      if (packet.properties) message.properties = packet.properties;
      this.emit('message', message);
    });
    this.emit('client', client);
  }

  private readonly onSubscribed = (error: Error | null | undefined) => {
    if (error) this.log.warn({ err: error.message }, 'subscribe failed');
  };

  private subscribeAll(): void {
    if (this.subscriptions.size === 0) return;
    const topics: Record<string, { qos: 0 | 1 }> = {};
    for (const [topic, qos] of this.subscriptions) topics[topic] = { qos };
    this.client!.subscribe(topics, this.onSubscribed);
  }

  private flushOffline(): void {
    const queued = this.offline.splice(0);
    for (const item of queued) this.publish(item.topic, item.payload, item.options);
  }

  /** mqtt.js can end up neither connected nor retrying (ended, or a connack error): start over. */
  private checkLiveness(): void {
    if (this.closing || this.connected || !this.client) return;
    const stuck =
      Date.now() - this.lastProgress > this.settings.reconnect.livenessMs + this.settings.reconnect.maxMs;
    const gaveUp = this.client.disconnected || (!this.client.reconnecting && !this.client.disconnecting);
    if (stuck || (gaveUp && Date.now() - this.lastProgress > this.settings.reconnect.livenessMs)) {
      this.recreate(stuck ? 'no progress' : 'client stopped retrying');
    }
  }

  private recreate(reason: string): void {
    const old = this.client;
    this.log.info({ reason }, 'recreating the MQTT client');
    this.client = undefined;
    old?.removeAllListeners('message');
    old?.end(true);
    this.createClient();
  }
}
