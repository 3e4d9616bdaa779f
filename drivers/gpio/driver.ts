import { EventEmitter } from 'node:events';
import type { Action } from '../../agent/decide/types.ts';
import type { StateSink } from '../../agent/state/types.ts';
import type { ActionOutcome, Driver, DriverHealth } from '../types.ts';
import type { GpioBackend, InputLine, Level, OutputLine } from './backend.ts';
import { type ChipInfo, checkOffsets, selectChip } from './chips.ts';
import { GpiodToolsBackend } from './gpiod.ts';
import type { GpioDriverConfig, GpioInputConfig } from './schema.ts';
import { SimGpioBackend } from './sim.ts';
import { SysfsGpioBackend } from './sysfs.ts';

const physical = (active: boolean, activeLow: boolean): Level => (active !== activeLow ? 1 : 0);

/** Parses on/off-ish values: true/false, 1/0, "on"/"off". */
function truthy(value: unknown): boolean | undefined {
  if (value === true || value === 1 || value === 'on' || value === 'ON') return true;
  if (value === false || value === 0 || value === 'off' || value === 'OFF') return false;
  return undefined;
}

async function pickBackend(config: GpioDriverConfig): Promise<GpioBackend> {
  if (config.backend === 'sim') return new SimGpioBackend(config.sim.chips);
  if (config.backend === 'gpiod') return new GpiodToolsBackend();
  if (config.backend === 'sysfs') return new SysfsGpioBackend(config.sysfsPollMs);
  if (await GpiodToolsBackend.available()) return new GpiodToolsBackend();
  if (SysfsGpioBackend.available()) return new SysfsGpioBackend(config.sysfsPollMs);
  throw new Error(
    'no GPIO access: install the libgpiod tools (apt install gpiod), or set backend: sim to simulate',
  );
}

interface InputState {
  config: GpioInputConfig;
  line?: InputLine;
  /** Last accepted (debounced) logical state. */
  active: boolean;
  settle?: NodeJS.Timeout;
}

/**
 * Outputs (relays, LEDs) as devices with on/off/set/pulse; inputs (buttons, bump switches, a hardware
 * e-stop) as events and `gpio.<name>` state. Active-low, debouncing and roles live here, above a thin
 * backend, so they are the same on real chips and on the simulated one.
 * An e-stop input trips on its first active edge (no debounce delay); releases are debounced.
 */
export class GpioDriver extends EventEmitter implements Driver {
  readonly kind = 'gpio';
  readonly devices: readonly string[];
  private backend: GpioBackend | undefined;
  private chip: ChipInfo | undefined;
  private state: StateSink | undefined;
  private readonly outputs = new Map<string, { line: OutputLine; on: boolean }>();
  private readonly inputs = new Map<string, InputState>();
  private fault: string | undefined;

  constructor(
    private readonly config: GpioDriverConfig,
    backend?: GpioBackend,
  ) {
    super();
    this.backend = backend;
    const simInputs =
      config.backend === 'sim' || backend instanceof SimGpioBackend ? Object.keys(config.inputs) : [];
    this.devices = [...Object.keys(config.outputs), ...simInputs];
  }

  /** The backend in use (a SimGpioBackend with `backend: sim`, to drive inputs in tests and demos). */
  get activeBackend(): GpioBackend | undefined {
    return this.backend;
  }

  get chipInfo(): ChipInfo | undefined {
    return this.chip;
  }

  async open(state: StateSink): Promise<void> {
    this.state = state;
    this.backend ??= await pickBackend(this.config);
    this.backend.on?.('fault', (message: string) => {
      this.fault = message;
      this.emit('event', { type: 'fault', detail: message });
    });
    const chip = selectChip(await this.backend.listChips(), this.config.chip);
    this.chip = chip;
    checkOffsets(chip, [
      ...Object.entries(this.config.outputs).map(([n, o]) => [n, o.line] as [string, number]),
      ...Object.entries(this.config.inputs).map(([n, i]) => [n, i.line] as [string, number]),
    ]);
    for (const [name, out] of Object.entries(this.config.outputs)) {
      const on = out.initial === 'on';
      this.outputs.set(name, {
        line: await this.backend.openOutput(chip, out.line, physical(on, out.activeLow)),
        on,
      });
      state.set(`${name}.on`, on);
    }
    for (const [name, input] of Object.entries(this.config.inputs)) {
      const entry: InputState = { config: input, active: false };
      this.inputs.set(name, entry);
      entry.line = await this.backend.openInput(chip, input.line, input.bias, () => this.onEdge(name));
      entry.active = (await entry.line.read()) === physical(true, input.activeLow);
      state.set(`gpio.${name}`, entry.active);
      // Fail safe: an e-stop that is already pressed when Sling starts counts.
      if (entry.active && input.role === 'estop') this.tripEstop(name);
    }
  }

  private async onEdge(name: string): Promise<void> {
    const entry = this.inputs.get(name);
    if (!entry?.line) return;
    const active = (await entry.line.read()) === physical(true, entry.config.activeLow);
    if (active && entry.config.role === 'estop' && !entry.active) {
      clearTimeout(entry.settle);
      this.accept(name, entry, true);
      return;
    }
    clearTimeout(entry.settle);
    const settle = async () => {
      const now = (await entry.line!.read()) === physical(true, entry.config.activeLow);
      if (now !== entry.active) this.accept(name, entry, now);
    };
    if (entry.config.debounceMs === 0) return void settle();
    entry.settle = setTimeout(() => void settle(), entry.config.debounceMs);
  }

  private accept(name: string, entry: InputState, active: boolean): void {
    entry.active = active;
    this.state?.set(`gpio.${name}`, active);
    this.emit('event', { type: 'input', device: name, active, line: entry.config.line });
    if (entry.config.role !== 'estop') return;
    if (active) this.tripEstop(name);
    else this.emit('event', { type: 'estop_release', device: name, source: `gpio:${name}` });
  }

  private tripEstop(name: string): void {
    const line = this.config.inputs[name]!.line;
    this.emit('event', {
      type: 'estop',
      device: name,
      source: `gpio:${name}`,
      reason: `e-stop input ${name} (line ${line}) active`,
      held: true,
    });
  }

  async execute(action: Action, signal: AbortSignal): Promise<ActionOutcome> {
    const input = this.config.inputs[action.device];
    if (input && this.backend instanceof SimGpioBackend) {
      const active = truthy(action.params.active);
      if (action.action !== 'simulate' || active === undefined) {
        return {
          status: 'rejected',
          error: `${action.device} is a simulated input: simulate {active: true|false}`,
        };
      }
      this.backend.setLevel(this.chip!.name, input.line, physical(active, input.activeLow));
      return { status: 'ok', result: { active } };
    }
    const out = this.outputs.get(action.device);
    if (!out) return { status: 'rejected', error: `unknown GPIO device ${action.device}` };
    switch (action.action) {
      case 'on':
        return this.setOutput(action.device, true);
      case 'off':
      case 'stop':
        return this.setOutput(action.device, false);
      case 'set': {
        const value = truthy(action.params.value);
        if (value === undefined)
          return { status: 'rejected', error: 'set needs value: on/off, true/false or 1/0' };
        return this.setOutput(action.device, value);
      }
      case 'pulse': {
        const ms = action.params.ms;
        if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0)
          return { status: 'rejected', error: 'pulse needs ms > 0' };
        const before = out.on;
        await this.setOutput(action.device, !before);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
        const restored = await this.setOutput(action.device, before);
        return signal.aborted ? { status: 'cancelled', error: String(signal.reason) } : restored;
      }
      default:
        return {
          status: 'rejected',
          error: `${action.device} has no action ${action.action} (on, off, set, pulse)`,
        };
    }
  }

  private async setOutput(device: string, on: boolean): Promise<ActionOutcome> {
    const out = this.outputs.get(device)!;
    const config = this.config.outputs[device]!;
    try {
      await out.line.set(physical(on, config.activeLow));
    } catch (error) {
      return { status: 'error', error: `${device}: ${(error as Error).message}` };
    }
    out.on = on;
    this.state?.set(`${device}.on`, on);
    return { status: 'ok', result: { on } };
  }

  async safeStop(): Promise<void> {
    await Promise.allSettled(
      Object.entries(this.config.outputs)
        .filter(([name, out]) => out.safe !== 'keep' && this.outputs.has(name))
        .map(([name, out]) => this.setOutput(name, out.safe === 'on')),
    );
  }

  async close(): Promise<void> {
    await this.safeStop();
    for (const entry of this.inputs.values()) {
      clearTimeout(entry.settle);
      await entry.line?.close();
    }
    for (const out of this.outputs.values()) await out.line.close();
    this.inputs.clear();
    this.outputs.clear();
    await this.backend?.close();
  }

  health(): DriverHealth {
    if (this.fault) return { ok: false, detail: this.fault };
    return {
      ok: true,
      detail:
        `${this.backend?.name ?? 'closed'} ${this.chip ? `${this.chip.name} [${this.chip.label}]` : ''}`.trim(),
    };
  }
}
