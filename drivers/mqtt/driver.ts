import { EventEmitter } from 'node:events';
import type { Action } from '../../agent/decide/types.ts';
import type { StateSink } from '../../agent/state/types.ts';
import type { ActionOutcome, Driver, DriverHealth } from '../types.ts';
import type { MqttLink } from './link.ts';
import type { MqttDriverConfig } from './schema.ts';
import { evaluate, parseExpression, parseStatePayload, renderPayload } from './template.ts';

function placeholders(template: unknown): string[] {
  if (typeof template === 'string') return [...template.matchAll(/\{\{([^{}]+)\}\}/g)].map((m) => m[1]!);
  if (template && typeof template === 'object') return Object.values(template).flatMap(placeholders);
  return [];
}

/**
 * Devices that already speak MQTT (Zigbee2MQTT, Tasmota, ESPHome): an action publishes a rendered payload
 * template to the device's topic; the device's state topic is parsed back into the state store as
 * `<device>.<field>`. Uses the agent's own connection through the injected `MqttLink`.
 */
export class MqttDeviceDriver extends EventEmitter implements Driver {
  readonly kind = 'mqtt';
  readonly devices: readonly string[];
  private readonly unsubscribers: (() => Promise<void>)[] = [];
  private lastError: string | undefined;

  constructor(
    private readonly config: MqttDriverConfig,
    private readonly link: MqttLink | undefined,
    name = 'mqtt',
  ) {
    super();
    this.devices = Object.keys(config.devices);
    // Bad templates are config errors: fail at start-up, naming where, not at the first command.
    for (const [device, dev] of Object.entries(config.devices)) {
      const exprs = [
        ...Object.entries(dev.actions).flatMap(([action, a]) =>
          placeholders(a.payload).map((e) => [`actions.${action}`, e]),
        ),
        ...Object.entries(dev.state?.fields ?? {}).map(([field, e]) => [`state.fields.${field}`, e]),
      ];
      for (const [where, expr] of exprs) {
        try {
          parseExpression(expr!);
        } catch (error) {
          throw new Error(`drivers.${name}.devices.${device}.${where}: ${(error as Error).message}`);
        }
      }
      if (dev.safe && !dev.actions[dev.safe])
        throw new Error(`drivers.${name}.devices.${device}.safe: no action ${dev.safe}`);
    }
  }

  async open(state: StateSink): Promise<void> {
    if (!this.link)
      throw new Error('the mqtt driver needs the agent MQTT connection (pass mqtt to createDrivers)');
    for (const [device, dev] of Object.entries(this.config.devices)) {
      if (!dev.state) continue;
      const fields = dev.state.fields;
      const unsubscribe = await this.link.subscribe(dev.state.topic, (_topic, payload) => {
        const data = parseStatePayload(payload);
        for (const [field, expr] of Object.entries(fields)) {
          try {
            const value = evaluate(expr, data);
            if (value !== undefined) state.set(`${device}.${field}`, value);
          } catch (error) {
            // A device sending something odd must not crash the agent; report it instead.
            this.emit('event', {
              type: 'fault',
              device,
              detail: `state ${field}: ${(error as Error).message}`,
            });
          }
        }
      });
      this.unsubscribers.push(unsubscribe);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.unsubscribers.splice(0).map((u) => u()));
  }

  async execute(action: Action, signal: AbortSignal): Promise<ActionOutcome> {
    const dev = this.config.devices[action.device];
    if (!dev) return { status: 'rejected', error: `unknown MQTT device ${action.device}` };
    const spec = dev.actions[action.action];
    if (!spec) {
      return {
        status: 'rejected',
        error: `${action.device} has no action ${action.action} (${Object.keys(dev.actions).join(', ')})`,
      };
    }
    let payload: string;
    try {
      payload = renderPayload(spec.payload, action.params);
    } catch (error) {
      return { status: 'rejected', error: `${action.device} ${action.action}: ${(error as Error).message}` };
    }
    if (signal.aborted) return { status: 'cancelled', error: String(signal.reason) };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.link!.publish(spec.topic, payload, { qos: spec.qos, retain: spec.retain }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no acknowledgement within ${this.config.publishTimeoutMs} ms`)),
            this.config.publishTimeoutMs,
          );
        }),
      ]);
      this.lastError = undefined;
      return { status: 'ok', result: { topic: spec.topic, payload } };
    } catch (error) {
      this.lastError = `${spec.topic}: ${(error as Error).message}`;
      return { status: 'error', error: `publish to ${this.lastError}` };
    } finally {
      clearTimeout(timer);
    }
  }

  async safeStop(): Promise<void> {
    const signal = new AbortController().signal;
    await Promise.allSettled(
      Object.entries(this.config.devices)
        .filter(([, dev]) => dev.safe)
        .map(([device, dev]) => this.execute({ device, action: dev.safe!, params: {} }, signal)),
    );
  }

  health(): DriverHealth {
    return this.lastError ? { ok: false, detail: this.lastError } : { ok: true };
  }
}
