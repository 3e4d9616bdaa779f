import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { IClientPublishOptions } from 'mqtt';
import type { MqttLink } from '../drivers/mqtt/link.ts';
import { linkFromConnection } from './act/mqtt-link.ts';
import type { SlingConfig } from './config/schema.ts';
import { chooseBroker, type EmbeddedBroker } from './ingress/broker.ts';
import { type ConnectionSettings, type InboundMessage, MqttConnection } from './ingress/connection.ts';
import { CommandDedup } from './ingress/dedup.ts';
import { CommandGuard, type GuardSettings } from './ingress/guard.ts';
import { hermesIntent, hermesNotRecognized } from './ingress/hermes.ts';
import {
  decodeCommand,
  decodeJson,
  hermesQuerySchema,
  hermesTextCapturedSchema,
  type InboundCommand,
} from './ingress/messages.ts';
import { SensorMapper } from './ingress/sensors.ts';
import { type AgentTopics, agentTopics, hermesTopics } from './ingress/topics.ts';
import type { Logger } from './log.ts';
import type { Decision, Pipeline } from './pipeline.ts';
import { type CommandCounters, healthSnapshot } from './report/health.ts';
import { LatencyWindow } from './report/latency.ts';
import { type CommandResult, refusedResult } from './report/result.ts';
import { throttle } from './report/throttle.ts';
import { runCommand } from './run-command.ts';
import { StateStore } from './state/store.ts';

export interface PipelineDeps {
  state: StateStore;
  /** The agent's MQTT connection for drivers and safety topics (MQTT devices, e-stop topic). */
  mqtt: MqttLink;
  log: Logger;
}

/** Builds the understand/decide/act stages from config; called at start and when their config changes. */
export type PipelineFactory = (config: SlingConfig, deps: PipelineDeps) => Promise<Pipeline>;

export interface AgentOptions {
  config: SlingConfig;
  log: Logger;
  /** A ready pipeline, or a factory (needed for `applyConfig` to rebuild it). */
  pipeline: Pipeline | PipelineFactory;
  state?: StateStore;
}

export interface ApplyResult {
  /** Top-level sections applied live. */
  applied: string[];
  /** Sections that only take effect after a restart (the device id / prefix, i.e. the topic names). */
  restartRequired: string[];
}

/**
 * A config section a service outside the pipeline runs on (voice): `check` refuses a config it could not run
 * before anything changes; `apply` takes the new one, after the pipeline.
 */
export interface SectionHandler {
  check(next: SlingConfig): string | undefined;
  apply(next: SlingConfig): Promise<void>;
}

export interface CommandInput {
  text: string;
  id?: string;
  dryRun?: boolean;
  /** Who sent it, for rate limits and the allow-list (`console`, a client name...). */
  source?: string;
}

export type AgentEventPayload = { type: string } & Record<string, unknown>;

/**
 * The long-running agent: MQTT ingress, the command pipeline, state, reports and lifecycle.
 * Events: 'online', 'offline', 'result' (CommandResult), 'event' (AgentEventPayload, also on .../events),
 * 'config' (ApplyResult), 'stopping', 'stopped'.
 */
export class Agent extends EventEmitter {
  readonly state: StateStore;
  readonly startedAt = Date.now();
  private config: SlingConfig;
  private pipeline!: Pipeline;
  private readonly factory: PipelineFactory | undefined;
  private connectionRef!: MqttConnection;
  private link!: MqttLink;
  private embedded: EmbeddedBroker | undefined;
  private topicsRef: AgentTopics;
  private guard: CommandGuard;
  private dedup: CommandDedup<CommandResult>;
  private sensors: SensorMapper;
  private readonly stateThrottle: ReturnType<typeof throttle>;
  private healthTimer: NodeJS.Timeout | undefined;
  private accepting = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** One per running command (a shared signal would collect a listener per action). */
  private readonly running = new Set<AbortController>();
  private readonly parseLatency = new LatencyWindow();
  private readonly totalLatency = new LatencyWindow();
  readonly counters: CommandCounters = { received: 0, executed: 0, duplicates: 0, refused: 0, failed: 0 };
  private readonly sensorCounters = { messages: 0, rejected: 0 };
  private commandSeq = 0;
  private readonly sectionHandlers = new Map<keyof SlingConfig, SectionHandler>();
  private stopping: Promise<void> | undefined;
  private swapping: Promise<void> | undefined;

  private constructor(
    options: AgentOptions,
    private readonly log: Logger,
  ) {
    super();
    this.config = options.config;
    this.factory = typeof options.pipeline === 'function' ? options.pipeline : undefined;
    if (typeof options.pipeline !== 'function') this.pipeline = options.pipeline;
    this.topicsRef = agentTopics(this.config.mqtt.prefix, this.config.device.id);
    this.sensors = new SensorMapper(this.config.sensors.subscriptions);
    this.state = options.state ?? new StateStore(this.sensors.staleness);
    if (options.state) this.state.setStaleness(this.sensors.staleness);
    this.guard = new CommandGuard(this.guardSettings());
    this.dedup = new CommandDedup(this.config.agent.dedupSize);
    this.stateThrottle = throttle(() => this.publishState(), this.config.agent.stateThrottleMs);
  }

  /** Starts the agent: pipeline, broker (discovered or embedded), subscriptions. Resolves once online. */
  static async start(options: AgentOptions): Promise<Agent> {
    const agent = new Agent(options, options.log);
    await agent.boot();
    return agent;
  }

  get topics(): AgentTopics {
    return this.topicsRef;
  }

  /** The MQTT connection (publish/subscribe with reconnect and the offline queue; `.mqtt` is mqtt.js). */
  get connection(): MqttConnection {
    return this.connectionRef;
  }

  get brokerUrl(): string {
    return this.connectionRef.url;
  }

  get currentConfig(): SlingConfig {
    return this.config;
  }

  get online(): boolean {
    return this.connectionRef.connected;
  }

  private async boot(): Promise<void> {
    const choice = await chooseBroker(this.config.mqtt.url, this.config.mqtt.embedded, this.log);
    this.embedded = choice.embedded;
    this.connectionRef = new MqttConnection(this.connectionSettings(choice.url), this.log);
    this.link = linkFromConnection(this.connectionRef);
    // Built before connecting so the drivers' subscriptions go out with the first connection.
    try {
      if (this.factory) this.pipeline = await this.factory(this.config, this.pipelineDeps());
    } catch (error) {
      await this.embedded?.close();
      throw error;
    }
    this.attachExecutorEvents(this.pipeline);
    this.connectionRef.on('connect', (sessionPresent: boolean) => this.onConnect(sessionPresent));
    this.connectionRef.on('offline', () => this.onOffline());
    this.connectionRef.on('message', (message: InboundMessage) => this.onMessage(message));
    this.connectionRef.subscribe(this.subscriptions());
    this.state.on('change', () => this.stateThrottle.trigger());
    this.accepting = true;
    this.scheduleHealth();
    const online = await this.connectionRef.start();
    if (!online) this.log.warn({ url: choice.url }, 'broker not reachable yet; retrying in the background');
  }

  private pipelineDeps(): PipelineDeps {
    return { state: this.state, mqtt: this.link, log: this.log };
  }

  private connectionSettings(url: string): ConnectionSettings {
    const { mqtt, agent } = this.config;
    const settings: ConnectionSettings = {
      url,
      // Stable, so the broker keeps our persistent session across restarts.
      clientId: mqtt.clientId ?? `sling-${this.config.device.id}`,
      // aedes speaks 3.1.1 only; asking it for 5 would be refused.
      protocolVersion: this.embedded ? 4 : mqtt.protocolVersion,
      keepaliveS: mqtt.keepaliveS,
      persistentSession: true,
      will: {
        topic: this.topicsRef.status,
        payload: this.statusPayload('offline', 'connection lost'),
        retain: true,
        qos: 1,
      },
      reconnect: agent.reconnect,
      offlineQueue: agent.offlineQueue,
    };
    if (mqtt.username !== undefined) settings.username = mqtt.username;
    if (mqtt.password !== undefined) settings.password = mqtt.password;
    if (mqtt.tls) settings.tls = mqtt.tls;
    return settings;
  }

  private statusPayload(state: 'online' | 'offline', reason?: string): string {
    return JSON.stringify({
      state,
      ...(reason ? { reason } : {}),
      device: this.config.device.id,
      host: hostname(),
      pid: process.pid,
      at: new Date().toISOString(),
    });
  }

  private subscriptions(): Record<string, 0 | 1> {
    const topics: Record<string, 0 | 1> = { [this.topicsRef.command]: 1 };
    if (this.config.agent.hermes.enabled) {
      topics[hermesTopics.nluQuery] = 1;
      topics[hermesTopics.textCaptured] = 1;
    }
    for (const pattern of this.sensors.patterns) topics[pattern] = 0;
    return topics;
  }

  private guardSettings(): GuardSettings {
    const { agent } = this.config;
    const defaults = [this.topicsRef.command, hermesTopics.nluQuery, hermesTopics.textCaptured];
    const settings: GuardSettings = {
      maxPayloadBytes: agent.maxPayloadBytes,
      perSecond: agent.rateLimit.perSecond,
      burst: agent.rateLimit.burst,
      allowTopics: agent.allow.topics ?? defaults,
    };
    if (agent.allow.clients) settings.allowClients = agent.allow.clients;
    return settings;
  }

  private onConnect(sessionPresent: boolean): void {
    this.log.info(
      { url: this.connectionRef.url, sessionPresent, protocol: this.connectionRef.protocolVersion },
      'online',
    );
    this.connectionRef.publish(this.topicsRef.status, this.statusPayload('online'), { qos: 1, retain: true });
    this.pipeline.executor.brokerRestored?.();
    this.publishState();
    this.emit('online');
  }

  private onOffline(): void {
    this.log.warn('lost the broker: stopping motion');
    const { executor } = this.pipeline;
    if (executor.brokerLost) executor.brokerLost();
    else void executor.safeStop('broker connection lost').catch(() => {});
    this.emit('offline');
  }

  private onMessage(message: InboundMessage): void {
    const { topic } = message;
    const hermes = this.config.agent.hermes.enabled;
    if (topic === this.topicsRef.command) this.onCommandMessage(message);
    else if (hermes && topic === hermesTopics.nluQuery) this.onHermesQuery(message);
    else if (hermes && topic === hermesTopics.textCaptured) this.onTextCaptured(message);
    else this.onSensorMessage(message);
  }

  private onSensorMessage(message: InboundMessage): void {
    const reading = this.sensors.map(message.topic, message.payload);
    if (!reading) return;
    this.sensorCounters.messages++;
    if (!reading.ok) {
      this.sensorCounters.rejected++;
      this.log.debug({ topic: message.topic, reason: reading.reason }, 'sensor value refused');
      return;
    }
    if (!this.state.has(reading.key) && this.state.size >= this.config.sensors.maxKeys) {
      this.sensorCounters.rejected++;
      return;
    }
    this.state.set(reading.key, reading.value);
  }

  /** Size, retained flag, allow-list and rate limit, in that order; the reason is published when refused. */
  private admit(message: InboundMessage, source: string | undefined): string | undefined {
    const size = this.guard.checkSize(message.payload.length);
    if (!size.ok) return size.reason;
    if (message.retain) return 'retained commands are refused (they would run again on every reconnect)';
    const allowed = this.guard.checkAllowed(message.topic, source);
    if (!allowed.ok) return allowed.reason;
    const rate = this.guard.checkRate(source ?? message.topic);
    if (!rate.ok) return rate.reason;
    return undefined;
  }

  private userSource(message: InboundMessage): string | undefined {
    const value = message.properties?.userProperties?.client;
    return Array.isArray(value) ? value[0] : value;
  }

  private onCommandMessage(message: InboundMessage): void {
    this.counters.received++;
    const early = this.guard.checkSize(message.payload.length);
    const decoded = early.ok ? decodeCommand(message.payload) : undefined;
    const command = decoded?.ok ? decoded.value : undefined;
    const source = command?.source ?? this.userSource(message);
    const refusal = !early.ok
      ? early.reason
      : decoded && !decoded.ok
        ? decoded.reason
        : this.admit(message, source);
    const id = command?.id ?? this.nextId();
    const respond = (result: CommandResult) => this.publishResult(result, message);
    if (refusal !== undefined || !command) {
      this.refuse(id, command?.text ?? '', refusal ?? 'invalid command', message.topic, respond);
      return;
    }
    this.track(this.execute({ ...command, id }, respond));
  }

  private onHermesQuery(message: InboundMessage): void {
    this.counters.received++;
    const refusal = this.admit(message, undefined);
    const decoded =
      refusal === undefined ? decodeJson(message.payload, hermesQuerySchema, 'Hermes query') : undefined;
    if (refusal !== undefined || !decoded?.ok) {
      const reason = refusal ?? (decoded && !decoded.ok ? decoded.reason : 'invalid');
      this.refuse(this.nextId(), '', reason, message.topic);
      return;
    }
    const query = decoded.value;
    const context = {
      id: query.id ?? null,
      siteId: query.siteId ?? this.config.agent.hermes.siteId,
      sessionId: query.sessionId ?? null,
    };
    // A Hermes NLU query only asks for the parse; it does not act (Rhasspy's dialogue manager does that).
    const work = (async () => {
      const started = performance.now();
      const parse = await this.pipeline.parser.parse(query.input).catch((error: Error) => ({
        text: query.input,
        intent: null,
        topIntent: null,
        confidence: 0,
        slots: [],
        alternatives: [],
        error: error.message,
        timing: { totalMs: 0 },
      }));
      this.parseLatency.add(performance.now() - started);
      if (parse.intent === null) {
        this.connectionRef.publish(
          hermesTopics.intentNotRecognized,
          JSON.stringify(hermesNotRecognized(parse, context)),
          { qos: 1 },
        );
      } else {
        this.connectionRef.publish(
          hermesTopics.intent(parse.intent),
          JSON.stringify(hermesIntent(parse, context)),
          { qos: 1 },
        );
      }
      this.event({
        type: 'hermes_query',
        input: query.input,
        intent: parse.intent,
        confidence: parse.confidence,
      });
    })();
    this.track(work);
  }

  private onTextCaptured(message: InboundMessage): void {
    this.counters.received++;
    const refusal = this.admit(message, undefined);
    const decoded =
      refusal === undefined
        ? decodeJson(message.payload, hermesTextCapturedSchema, 'Hermes textCaptured')
        : undefined;
    const id = this.nextId();
    if (refusal !== undefined || !decoded?.ok) {
      this.refuse(id, '', refusal ?? (decoded && !decoded.ok ? decoded.reason : 'invalid'), message.topic);
      return;
    }
    const respond = (result: CommandResult) => this.publishResult(result);
    this.track(this.execute({ id, text: decoded.value.text, dryRun: false, source: 'hermes' }, respond));
  }

  private nextId(): string {
    this.commandSeq++;
    return `${this.config.device.id}-${this.startedAt.toString(36)}-${this.commandSeq}`;
  }

  private refuse(
    id: string,
    text: string,
    reason: string,
    topic: string,
    respond?: (r: CommandResult) => void,
  ): void {
    this.counters.refused++;
    this.log.warn({ topic, reason }, 'command refused');
    const result = refusedResult(id, text, reason);
    if (respond) respond(result);
    this.event({ type: 'refused', id, topic, reason });
  }

  private track<T>(work: Promise<T>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => {});
  }

  /** Runs a command (deduplicated by id) and publishes its result. */
  private async execute(
    command: InboundCommand & { id: string },
    respond: (r: CommandResult) => void,
  ): Promise<CommandResult> {
    const seen = command.id ? this.dedup.seen(command.id) : undefined;
    if (seen) {
      this.counters.duplicates++;
      const earlier = await seen;
      this.log.info({ id: command.id }, 'duplicate command id: answered from the cache, not executed');
      respond(earlier);
      return earlier;
    }
    const work = this.dedup.track(command.id, this.runTraced(command));
    const result = await work;
    respond(result);
    return result;
  }

  /** Waits out a pipeline swap; a refusal when no command may run now (shutting down, too long). */
  private async refusalBeforeRun(id: string, text: string): Promise<CommandResult | undefined> {
    if (this.swapping) await this.swapping;
    if (!this.accepting) return refusedResult(id, text, 'the agent is shutting down');
    const maxChars = this.config.nlu.maxInputChars;
    if (text.length > maxChars)
      return refusedResult(id, text.slice(0, maxChars), `command longer than ${maxChars} characters`);
    return undefined;
  }

  private async runTraced(command: InboundCommand & { id: string }): Promise<CommandResult> {
    const refusal = await this.refusalBeforeRun(command.id, command.text);
    if (refusal) {
      if (this.accepting) this.counters.refused++;
      return refusal;
    }
    const controller = new AbortController();
    this.running.add(controller);
    const onDecided = ({ parses, plan }: Decision) => {
      for (const parse of parses.filter((p) => p.intent !== null)) {
        this.event({
          type: 'intent',
          id: command.id,
          intent: parse.intent,
          confidence: parse.confidence,
          source: command.source,
        });
      }
      if (plan.refused) this.event({ type: 'plan_refused', id: command.id, reason: plan.refused.reason });
    };
    const result = await runCommand(command, this.pipeline, this.state, controller.signal, onDecided).finally(
      () => this.running.delete(controller),
    );
    this.counters.executed++;
    if (result.status === 'error') this.counters.failed++;
    this.parseLatency.add(result.timing.parseMs);
    this.totalLatency.add(result.timing.totalMs);
    for (const action of result.actions) {
      this.event({
        type: 'action',
        id: result.id,
        device: action.device,
        action: action.action,
        status: action.status,
        ...(action.error ? { error: action.error } : {}),
      });
    }
    if (result.status === 'error')
      this.event({ type: 'error', id: result.id, error: result.error ?? result.reply });
    this.emit('result', result);
    return result;
  }

  private publishResult(result: CommandResult, request?: InboundMessage): void {
    const payload = JSON.stringify(result);
    this.connectionRef.publish(this.topicsRef.commandResult, payload, { qos: 1 });
    const props = request?.properties;
    const responseTopic = props?.responseTopic;
    if (responseTopic && !/[#+]/.test(responseTopic) && responseTopic.length <= 256) {
      const options: IClientPublishOptions = { qos: 1 };
      if (props.correlationData) options.properties = { correlationData: props.correlationData };
      this.connectionRef.publish(responseTopic, payload, options);
    }
  }

  private event(payload: AgentEventPayload): void {
    const full = { ...payload, at: new Date().toISOString() };
    this.emit('event', full);
    this.connectionRef?.publish(this.topicsRef.events, JSON.stringify(full), { qos: 0 });
  }

  private readonly onExecutorEvent = (event: AgentEventPayload) =>
    this.event({ ...event, type: event.type ?? 'device' });

  private attachExecutorEvents(pipeline: Pipeline): void {
    pipeline.executor.on?.('event', this.onExecutorEvent);
  }

  private detachExecutorEvents(pipeline: Pipeline): void {
    pipeline.executor.off?.('event', this.onExecutorEvent);
  }

  private publishState(): void {
    if (!this.connectionRef?.connected) return;
    this.connectionRef.publish(this.topicsRef.state, JSON.stringify(this.state.snapshot()), {
      qos: 0,
      retain: true,
    });
  }

  private scheduleHealth(): void {
    clearInterval(this.healthTimer);
    const seconds = this.config.agent.healthIntervalS;
    if (seconds <= 0) return;
    this.healthTimer = setInterval(() => this.publishHealth(), seconds * 1000);
    this.healthTimer.unref();
  }

  /** The figures published on `.../health`. */
  health() {
    return healthSnapshot({
      startedAt: this.startedAt,
      mqtt: {
        ...this.connectionRef.stats,
        connected: this.connectionRef.connected,
        offlineQueue: this.connectionRef.offlineQueueDepth,
        protocolVersion: this.connectionRef.protocolVersion,
      },
      commands: this.counters,
      parse: this.parseLatency,
      total: this.totalLatency,
      queues: this.pipeline.executor.queueDepths?.() ?? {},
      sensors: { ...this.sensorCounters, keys: this.state.size },
      inFlight: this.inFlight.size,
    });
  }

  publishHealth(): void {
    if (this.connectionRef.connected) {
      this.connectionRef.publish(this.topicsRef.health, JSON.stringify(this.health()), { qos: 0 });
    }
  }

  /** Runs a command from a local source (console, fleet, voice) through the same checks and pipeline. */
  async command(input: CommandInput): Promise<CommandResult> {
    const id = input.id ?? this.nextId();
    const source = input.source ?? 'local';
    const rate = this.guard.checkRate(source);
    if (!rate.ok) return refusedResult(id, input.text, rate.reason);
    const command = { id, text: input.text, dryRun: input.dryRun ?? false, source };
    const work = this.execute(command, (result) => this.publishResult(result));
    this.track(work);
    return work;
  }

  /**
   * What a command would do, for the agent's own decisions (does a heard command need a spoken "yes"?): the
   * same parser, planner and safety checks as a dry run, but it spends no rate-limit token and publishes no
   * result or events. The command it judges is limited and reported when it really runs.
   */
  async preview(text: string): Promise<CommandResult> {
    const id = this.nextId();
    return (
      (await this.refusalBeforeRun(id, text)) ??
      runCommand({ id, text, dryRun: true }, this.pipeline, this.state)
    );
  }

  /**
   * Applies a new validated config to the running agent. Live: agent limits, allow-lists, Hermes, sensors,
   * MQTT connection settings (reconnects), log level, and everything the pipeline factory builds (nlu, skills,
   * drivers...: rebuilt, then swapped in). Device id and topic prefix need a restart.
   */
  /** Hands a config section to the service that runs on it, so `applyConfig` applies it live (voice). */
  onSectionChange(section: keyof SlingConfig, handler: SectionHandler): void {
    this.sectionHandlers.set(section, handler);
  }

  async applyConfig(next: SlingConfig): Promise<ApplyResult> {
    const previous = this.config;
    const changed = (Object.keys(next) as (keyof SlingConfig)[]).filter(
      (key) => JSON.stringify(next[key]) !== JSON.stringify(previous[key]),
    );
    const handled = changed.filter((k) => this.sectionHandlers.has(k));
    for (const section of handled) {
      const problem = this.sectionHandlers.get(section)!.check(next);
      if (problem) throw new Error(`cannot apply ${section}: ${problem}`);
    }
    const applied: string[] = [];
    const restartRequired: string[] = [];
    const identityChanged =
      next.device.id !== previous.device.id || next.mqtt.prefix !== previous.mqtt.prefix;
    const pipelineSections = changed.filter(
      (k) => !['device', 'mqtt', 'agent', 'sensors', 'log'].includes(k) && !this.sectionHandlers.has(k),
    );
    if (pipelineSections.length > 0 && !this.factory) {
      throw new Error(`cannot apply ${pipelineSections.join(', ')}: the agent has no pipeline factory`);
    }
    this.config = identityChanged
      ? { ...next, device: previous.device, mqtt: { ...next.mqtt, prefix: previous.mqtt.prefix } }
      : next;
    if (identityChanged) restartRequired.push('device');
    if (
      pipelineSections.length === 1 &&
      pipelineSections[0] === 'drivers' &&
      this.pipeline.reconfigureDrivers
    ) {
      // Only the drivers changed: reopen the changed instances, leave the others (and the model) running.
      const touched = await this.pipeline
        .reconfigureDrivers(next.drivers, previous.drivers)
        .catch((error) => {
          this.config = previous;
          throw error;
        });
      this.log.info({ drivers: touched }, 'drivers reconfigured');
      applied.push('drivers');
    } else if (pipelineSections.length > 0) {
      await this.swapPipeline(next, previous);
      applied.push(...pipelineSections);
    }
    if (changed.includes('agent') || changed.includes('sensors')) {
      this.guard.update(this.guardSettings());
      if (next.agent.dedupSize !== previous.agent.dedupSize)
        this.dedup = new CommandDedup(next.agent.dedupSize);
      const oldPatterns = Object.keys(this.subscriptions());
      this.sensors = new SensorMapper(next.sensors.subscriptions);
      this.state.setStaleness(this.sensors.staleness);
      const fresh = this.subscriptions();
      this.connectionRef.unsubscribe(oldPatterns.filter((p) => !(p in fresh)));
      // Applied means listening: resolve once the broker has granted the new subscriptions.
      await this.connectionRef.subscribe(fresh);
      this.scheduleHealth();
      applied.push(...changed.filter((k) => k === 'agent' || k === 'sensors'));
    }
    if (changed.includes('log')) {
      this.log.level = next.log.level;
      applied.push('log');
    }
    if (changed.includes('mqtt')) {
      const url = next.mqtt.url ?? this.connectionRef.url;
      this.connectionRef.reconfigure(this.connectionSettings(url));
      applied.push('mqtt');
    }
    for (const section of handled) {
      await this.sectionHandlers.get(section)!.apply(this.config);
      applied.push(section);
    }
    const result = { applied, restartRequired };
    this.log.info(result, 'configuration applied');
    this.event({ type: 'config_applied', ...result });
    this.emit('config', result);
    return result;
  }

  /**
   * Rebuilds the stages for new config. The old ones are made safe and closed first (drivers hold ports);
   * commands wait meanwhile. If the new config fails to build, the previous one is rebuilt and the error
   * is thrown.
   */
  private async swapPipeline(next: SlingConfig, previous: SlingConfig): Promise<void> {
    const factory = this.factory!;
    let release!: () => void;
    this.swapping = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const old = this.pipeline;
      this.detachExecutorEvents(old);
      await old.executor.safeStop('configuration changed').catch(() => {});
      await old.close?.().catch(() => {});
      try {
        this.pipeline = await factory(next, this.pipelineDeps());
      } catch (error) {
        this.config = previous;
        this.pipeline = await factory(previous, this.pipelineDeps());
        throw error;
      } finally {
        this.attachExecutorEvents(this.pipeline);
      }
    } finally {
      this.swapping = undefined;
      release();
    }
  }

  /**
   * Graceful stop, bounded by `agent.shutdownTimeoutMs`: refuse new commands, cancel running ones, bring
   * actuators to a safe state, publish "offline" (retained), flush and disconnect, close the pipeline.
   */
  stop(reason = 'shutdown'): Promise<void> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<void> {
    const budget = this.config.agent.shutdownTimeoutMs;
    const deadline = Date.now() + budget;
    const left = () => Math.max(50, deadline - Date.now());
    this.accepting = false;
    this.emit('stopping', reason);
    this.log.info({ reason }, 'stopping');
    clearInterval(this.healthTimer);
    this.stateThrottle.cancel();
    for (const controller of this.running) controller.abort(new Error(`agent ${reason}`));
    await withTimeout(
      this.pipeline.executor.safeStop(reason).catch(() => {}),
      left() / 3,
    );
    await withTimeout(Promise.allSettled([...this.inFlight]), left() / 3);
    if (this.connectionRef.connected) {
      await this.connectionRef.publishAsync(
        this.topicsRef.status,
        this.statusPayload('offline', reason),
        { qos: 1, retain: true },
        left() / 2,
      );
    }
    await this.connectionRef.stop(left() / 2);
    await withTimeout(this.pipeline.close?.().catch(() => {}) ?? Promise.resolve(), left() / 2);
    await withTimeout(this.embedded?.close() ?? Promise.resolve(), left());
    this.emit('stopped');
    this.log.info('stopped');
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
