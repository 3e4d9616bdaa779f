import { EventEmitter } from 'node:events';
import { formatIssue } from '../config/errors.ts';
import type { SlingConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { fromProjectRoot } from '../paths.ts';
import { type ApplyConfig, type ApplyOutcome, ConfigApplier } from './applier.ts';
import { diffConfigs } from './diff.ts';
import {
  type AcceptedLayer,
  admitDocument,
  type Composition,
  type ConfigDocument,
  composeConfig,
  configHash,
  type Layers,
  layerOrder,
  parseConfigDocument,
  type Trust,
} from './layers.ts';
import { redact } from './meta.ts';
import type { ModelHooks, ModelReport } from './model/receiver.ts';
import { ModelReceiver } from './model/receiver.ts';
import { type FleetState, FleetStore } from './store.ts';
import { fleetTopics, type LayerId, RESERVED_DEVICE_IDS } from './topics.ts';
import type { FleetMessage, FleetTransport } from './transport.ts';

/** Retained on `<prefix>/<device>/config/reported`. */
export interface ConfigReport {
  device: string;
  status: 'applied' | 'rejected' | 'rolled_back' | 'pending';
  /** Versions of the layers in the running config. */
  versions: Partial<Record<LayerId, number>>;
  /** Hash of the running effective config (secrets excluded). */
  hash: string;
  error: string | null;
  /** When the running config was applied (null: it is the boot config). */
  appliedAt: string | null;
  /** Settings changed by the fleet that take effect only after a restart. */
  restartRequired: string[];
  /** The document this report is about when it was rejected or rolled back. */
  document?: { target: LayerId; version: number | null };
  at: string;
}

export interface FleetClientOptions {
  /** The MQTT connection: the agent's (`agent-link.ts`) or `mqttTransport(mqttJsClient)`. */
  transport: FleetTransport;
  /** The local file's config (with SLING_* overrides): the lowest layer and the source of trust settings. */
  fileConfig: SlingConfig;
  apply: ApplyConfig;
  isBusy?: () => boolean;
  onIdle?: (listener: () => void) => () => void;
  /** Model delivery is enabled when the agent provides these. */
  model?: ModelHooks;
  /** Overrides `fleet.stateDir` (tests, simulated fleets). */
  stateDir?: string;
  log?: Logger;
  /** Time allowed for one apply callback before it counts as failed and is rolled back. */
  applyTimeoutMs?: number;
  modelStallMs?: number;
}

interface Inbound {
  target: LayerId;
  payload: Buffer;
}

/**
 * The configuration computed at boot, before any broker is reachable: the local file merged with the
 * persisted last-known-good layers. Falls back to the file alone (and says why) if that no longer validates.
 */
export function bootConfig(
  fileConfig: SlingConfig,
  stateDir = fromProjectRoot(fileConfig.fleet.stateDir),
): { config: SlingConfig; layers: Layers; state: FleetState; store: FleetStore; error?: string } {
  const store = new FleetStore(stateDir);
  const { state, error } = store.load();
  const composed = composeConfig(fileConfig, state.layers, fileConfig.device.id);
  if (composed.ok)
    return { config: composed.config, layers: state.layers, state, store, ...(error ? { error } : {}) };
  const reason = `persisted fleet layers no longer validate, booting from the local file: ${composed.issues.map(formatIssue).join('; ')}`;
  // Forget the version marks too, so the retained documents are considered again.
  return { config: fileConfig, layers: {}, state: { ...state, layers: {}, seen: {} }, store, error: reason };
}

/**
 * A device's side of fleet configuration: subscribes to its fleet, group and device documents, merges and
 * validates them, applies the result through the agent's hook (queued while moving, rolled back on failure),
 * persists the last-known-good config and reports on `<prefix>/<device>/config/reported`.
 * Events: `report` (ConfigReport), `model-report` (ModelReport), `applied` (SlingConfig, diff).
 */
export class FleetClient extends EventEmitter {
  readonly deviceId: string;
  readonly prefix: string;
  readonly topics: ReturnType<typeof fleetTopics>;
  readonly bootError: string | undefined;
  readonly model: ModelReceiver | undefined;
  #file: SlingConfig;
  #store: FleetStore;
  #state: FleetState;
  #applied: Layers;
  #desired: Layers;
  #appliedAt: string | null = null;
  #appliedVersions: Partial<Record<LayerId, number>> = {};
  /** What the process runs with until it restarts: restart-only settings are measured against it. */
  #bootConfig: SlingConfig;
  #applier: ConfigApplier;
  #groups: string[] = [];
  #inbox: Inbound[] = [];
  #draining = false;
  #seq = 0;
  #last: ConfigReport | undefined;
  #stopListening: (() => void) | undefined;

  constructor(private readonly options: FleetClientOptions) {
    super();
    const file = options.fileConfig;
    this.deviceId = file.device.id;
    if (RESERVED_DEVICE_IDS.has(this.deviceId)) {
      throw new Error(`device.id "${this.deviceId}" collides with fleet topics; choose another id`);
    }
    this.prefix = file.mqtt.prefix;
    this.topics = fleetTopics(this.prefix, this.deviceId);
    this.#file = file;
    const boot = bootConfig(file, options.stateDir ?? fromProjectRoot(file.fleet.stateDir));
    this.bootError = boot.error;
    if (boot.error) options.log?.warn({ err: boot.error }, 'fleet: boot config');
    this.#store = boot.store;
    this.#state = boot.state;
    this.#applied = boot.layers;
    this.#bootConfig = boot.config;
    this.#desired = boot.layers;
    this.#applier = new ConfigApplier({
      current: boot.config,
      apply: options.apply,
      ...(options.isBusy ? { isBusy: options.isBusy } : {}),
      ...(options.onIdle ? { onIdle: options.onIdle } : {}),
      ...(options.applyTimeoutMs ? { applyTimeoutMs: options.applyTimeoutMs } : {}),
    });
    this.#applier.on('queued', () =>
      this.#report({ status: 'pending', error: 'waiting for the motion action to finish' }),
    );
    if (options.model) {
      this.model = new ModelReceiver({
        transport: options.transport,
        prefix: this.prefix,
        deviceId: this.deviceId,
        dir: `${this.#store.dir}/models`,
        trust: () => this.#trust(),
        hooks: options.model,
        installed: this.#state.model,
        seen: this.#state.modelSeen,
        persist: (installed, seen) => {
          this.#state.model = installed;
          this.#state.modelSeen = seen;
          return this.#store.saveAsync(this.#state);
        },
        publishReport: (report) => this.#publishModelReport(report),
        ...(options.modelStallMs ? { stallMs: options.modelStallMs } : {}),
      });
    }
  }

  /** The running config (what the agent has applied). */
  get config(): SlingConfig {
    return this.#applier.current;
  }

  get lastReport(): ConfigReport | undefined {
    return this.#last;
  }

  get groups(): readonly string[] {
    return this.#groups;
  }

  /** Subscribes and publishes the boot report. Retained documents arrive and are applied from here on. */
  async start(): Promise<void> {
    if (this.#stopListening) return;
    this.#stopListening = this.options.transport.listen((message) => this.#route(message));
    const composed = composeConfig(this.#file, this.#applied, this.deviceId);
    if (composed.ok) this.#appliedVersions = composed.versions;
    const topics = [this.topics.fleetConfig, this.topics.desired, this.topics.get];
    if (this.model) topics.push(this.topics.fleetModel, this.topics.deviceModel);
    await this.options.transport.subscribe(topics);
    await this.#setGroups(composed.ok ? composed.groups : this.#file.fleet.groups);
    this.#report({ status: 'applied', error: this.bootError ?? null });
  }

  async stop(): Promise<void> {
    this.#stopListening?.();
    this.#stopListening = undefined;
    this.#applier.close();
    this.model?.close();
  }

  #trust(): Trust {
    return { trusted: this.#file.fleet.publicKeys, requireSigned: this.#file.fleet.requireSigned };
  }

  async #setGroups(groups: readonly string[]): Promise<void> {
    const added = groups.filter((g) => !this.#groups.includes(g));
    const removed = this.#groups.filter((g) => !groups.includes(g));
    this.#groups = [...groups];
    this.model?.setPrecedence(layerOrder(this.#groups, this.deviceId));
    const topicsOf = (g: string) =>
      this.model ? [this.topics.groupConfig(g), this.topics.groupModel(g)] : [this.topics.groupConfig(g)];
    if (removed.length > 0) await this.options.transport.unsubscribe(removed.flatMap(topicsOf));
    if (added.length > 0) await this.options.transport.subscribe(added.flatMap(topicsOf));
  }

  #route(message: FleetMessage): void {
    const { topic, payload } = message;
    const t = this.topics;
    if (topic === t.fleetConfig) {
      this.#enqueue('fleet', payload);
      return;
    }
    if (topic === t.desired) {
      this.#enqueue(`device:${this.deviceId}`, payload);
      return;
    }
    if (topic === t.get) {
      this.#answerGet(message);
      return;
    }
    if (this.model) {
      if (topic === t.fleetModel) {
        this.model.handleManifest('fleet', payload);
        return;
      }
      if (topic === t.deviceModel) {
        this.model.handleManifest(`device:${this.deviceId}`, payload);
        return;
      }
      if (this.model.handleChunk(topic, payload)) return;
    }
    for (const group of this.#groups) {
      if (topic === t.groupConfig(group)) {
        this.#enqueue(`group:${group}`, payload);
        return;
      }
      if (this.model && topic === t.groupModel(group)) {
        this.model.handleManifest(`group:${group}`, payload);
        return;
      }
    }
  }

  #enqueue(target: LayerId, payload: Buffer): void {
    if (payload.length === 0) return; // a cleared retained document is not a config
    this.#inbox.push({ target, payload });
    void this.#drain();
  }

  /**
   * Takes every document that has arrived, admits or rejects each one against the layers so far, then
   * submits one merged config. Batching matters at boot, when fleet, group and device documents arrive together.
   */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      // Let retained documents that arrive in the same burst join the batch.
      await new Promise((r) => setImmediate(r));
      while (this.#inbox.length > 0) {
        const batch = this.#inbox.splice(0);
        let candidate: Layers = { ...this.#desired };
        let composed: Composition | undefined;
        const accepted: { target: LayerId; doc: ConfigDocument; layer: AcceptedLayer }[] = [];
        for (const { target, payload } of batch) {
          const parsed = parseConfigDocument(payload);
          if (!parsed.ok) {
            this.#reject(target, null, parsed.reason);
            continue;
          }
          const { doc } = parsed;
          const admission = admitDocument(doc, target, this.#state.seen[target], this.#trust());
          if (admission.kind === 'duplicate') continue;
          if (admission.kind === 'reject') {
            this.#reject(target, doc.version, admission.reason);
            continue;
          }
          const trial = { ...candidate, [target]: admission.layer };
          const attempt = composeConfig(this.#file, trial, this.deviceId);
          if (!attempt.ok) {
            // Issues blamed on this very document need no second "target vN:" prefix.
            const self = `${target} v${doc.version}`;
            const reason = attempt.issues
              .map((i) => (i.source === self ? `${i.path}: ${i.message}` : formatIssue(i)))
              .join('; ');
            this.#reject(target, doc.version, reason);
            continue;
          }
          candidate = trial;
          composed = attempt;
          accepted.push({ target, doc, layer: admission.layer });
          this.#state.seen[target] = { version: doc.version, hash: admission.layer.hash };
        }
        if (accepted.length === 0 || !composed?.ok) continue;
        this.#desired = candidate;
        const seq = ++this.#seq;
        await this.#setGroups(composed.groups);
        const { versions } = composed;
        const motionSafe = accepted.every((a) => a.layer.motionSafe === true);
        const last = accepted[accepted.length - 1]!;
        void this.#applier
          .submit(composed.config, { motionSafe })
          .then((outcome) => this.#settle(outcome, seq, candidate, versions, last));
      }
    } finally {
      this.#draining = false;
    }
  }

  async #settle(
    outcome: ApplyOutcome,
    seq: number,
    layers: Layers,
    versions: Partial<Record<LayerId, number>>,
    last: { target: LayerId; doc: ConfigDocument },
  ): Promise<void> {
    if (outcome.status === 'superseded') return;
    if (outcome.status === 'applied') {
      this.#applied = layers;
      this.#appliedVersions = versions;
      this.#appliedAt = new Date().toISOString();
      this.#state.layers = layers;
      this.#state.lastKnownGood = outcome.config;
      // Persisted before it is reported: a device never claims a config it would not boot with.
      await this.#persist();
      this.#report({ status: 'applied', error: null, versions });
      this.emit('applied', outcome.config, outcome.diff);
      return;
    }
    if (seq === this.#seq) this.#desired = this.#applied;
    await this.#persist();
    this.options.log?.warn({ err: outcome.error }, 'fleet: config rolled back');
    this.#report({
      status: 'rolled_back',
      error: outcome.error,
      document: { target: last.target, version: last.doc.version },
    });
  }

  async #persist(): Promise<void> {
    try {
      await this.#store.saveAsync(this.#state);
    } catch (error) {
      // The running config is fine; only the reboot fallback is stale. Say so rather than crash.
      this.options.log?.error({ err: error }, 'fleet: cannot persist last-known-good config');
      this.emit('persist-error', error);
    }
  }

  #reject(target: LayerId, version: number | null, reason: string): void {
    this.options.log?.warn({ target, version, reason }, 'fleet: document rejected');
    this.#report({
      status: 'rejected',
      error: `${target}${version === null ? '' : ` v${version}`}: ${reason}`,
      document: { target, version },
    });
  }

  #report(fields: Pick<ConfigReport, 'status' | 'error'> & Partial<ConfigReport>): void {
    const config = this.#applier.current;
    const report: ConfigReport = {
      device: this.deviceId,
      status: fields.status,
      versions: fields.versions ?? this.#appliedVersions,
      hash: configHash(config),
      error: fields.error,
      appliedAt: this.#appliedAt,
      restartRequired: diffConfigs(this.#bootConfig, config).restartRequired,
      ...(fields.document ? { document: fields.document } : {}),
      at: new Date().toISOString(),
    };
    this.#last = report;
    this.emit('report', report);
    this.options.transport.publish(this.topics.reported, JSON.stringify(report), { qos: 1, retain: true });
  }

  #publishModelReport(report: ModelReport): void {
    this.emit('model-report', report);
    this.options.transport.publish(this.topics.modelReported, JSON.stringify(report), {
      qos: 1,
      retain: true,
    });
  }

  #answerGet(message: FleetMessage): void {
    const props = message.properties;
    const config = this.#applier.current;
    const answer = {
      device: this.deviceId,
      versions: this.#appliedVersions,
      hash: configHash(config),
      config: redact(config),
      at: new Date().toISOString(),
    };
    this.options.transport.publish(props?.responseTopic ?? this.topics.effective, JSON.stringify(answer), {
      qos: 1,
      ...(props?.correlationData ? { properties: { correlationData: props.correlationData } } : {}),
    });
  }
}
