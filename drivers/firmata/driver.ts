import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SerialPort } from 'serialport';
import type { Action } from '../../agent/decide/types.ts';
import type { StateSink } from '../../agent/state/types.ts';
import type { ActionOutcome, Driver, DriverHealth } from '../types.ts';
import { type PinWrite, planPinAction, safeWrites } from './plan.ts';
import { type FirmataDriverConfig, type FirmataDriverConfigInput, firmataDriverSchema } from './schema.ts';

/** The part of firmata-io's Board used here (the package ships no type definitions). */
interface FirmataBoard extends EventEmitter {
  MODES: { INPUT: number; OUTPUT: number; ANALOG: number; PWM: number; SERVO: number; PULLUP: number };
  firmware: { name?: string; version?: { major: number; minor: number } };
  pins: { supportedModes: number[] }[];
  pinMode(pin: number, mode: number): void;
  digitalWrite(pin: number, value: number): void;
  pwmWrite(pin: number, value: number): void;
  servoConfig(pin: number, min: number, max: number): void;
  servoWrite(pin: number, angle: number): void;
  digitalRead(pin: number, callback: (value: number) => void): void;
  analogRead(channel: number, callback: (value: number) => void): void;
  setSamplingInterval(ms: number): void;
  reportVersion(callback: () => void): void;
}
const require = createRequire(import.meta.url);
const { Firmata } = require('firmata-io') as {
  Firmata: new (port: SerialPort, options: Record<string, unknown>) => FirmataBoard;
};

/**
 * Named devices (switches, PWM outputs, servos, inputs, analog sensors) on one board running
 * StandardFirmata, through firmata-io over a serialport 13 port we own. firmata-io does not notice a
 * serialport 13 disconnect by itself, so this driver watches the port's close event, the device path
 * and the board's traffic (a version query every heartbeat), and reconnects.
 */
export class FirmataDriver extends EventEmitter implements Driver {
  readonly kind = 'firmata';
  readonly devices: readonly string[];
  readonly config: FirmataDriverConfig;
  connected = false;
  lastProblem = 'not started';
  firmware = '';
  private state: StateSink | undefined;
  private port: SerialPort | undefined;
  private board: FirmataBoard | undefined;
  private closed = false;
  private lastReceivedAt = 0;
  private readonly inputs = new Map<string, boolean>();
  private connectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readyTimer: NodeJS.Timeout | undefined;

  constructor(config: FirmataDriverConfigInput) {
    super();
    this.config = firmataDriverSchema.parse(config);
    this.devices = Object.keys(this.config.devices);
  }

  async open(state: StateSink): Promise<void> {
    this.state = state;
    this.closed = false;
    void this.connect();
    await this.waitConnected(this.config.openTimeoutMs);
  }

  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((done) => {
      const onEvent = (event: { type: string }) => {
        if (event.type !== 'connected') return;
        clearTimeout(timer);
        this.off('event', onEvent);
        done(true);
      };
      const timer = setTimeout(() => {
        this.off('event', onEvent);
        done(false);
      }, timeoutMs);
      this.on('event', onEvent);
    });
  }

  async close(): Promise<void> {
    await this.safeStop();
    this.closed = true;
    clearTimeout(this.connectTimer);
    const port = this.port;
    if (port?.isOpen) await new Promise<void>((done) => port.drain(() => done()));
    this.drop('closed');
    if (port?.isOpen) await new Promise<void>((done) => port.close(() => done()));
  }

  health(): DriverHealth {
    if (this.connected) return { ok: true, detail: `${this.config.path}: ${this.firmware}` };
    return { ok: false, detail: `${this.config.path}: ${this.lastProblem}` };
  }

  async safeStop(): Promise<void> {
    if (!this.connected) return;
    try {
      this.apply(safeWrites(this.config.devices));
    } catch {
      // must not throw; a dead port is handled by the watchdog
    }
  }

  async execute(action: Action, _signal: AbortSignal): Promise<ActionOutcome> {
    const device = this.config.devices[action.device];
    if (!device) return { status: 'rejected', error: `firmata driver has no device "${action.device}"` };
    const plan = planPinAction(device, action.action, action.params ?? {});
    if (!plan.ok) return { status: 'rejected', error: plan.error };
    if (!this.connected || !this.port)
      return { status: 'error', error: `not connected: ${this.lastProblem}` };
    try {
      this.apply(plan.writes);
      const port = this.port;
      await new Promise<void>((done, fail) => port.drain((error) => (error ? fail(error) : done())));
    } catch (error) {
      return { status: 'error', error: `write to board failed: ${(error as Error).message}` };
    }
    for (const [key, value] of Object.entries(plan.state)) this.state?.set(`${action.device}.${key}`, value);
    return { status: 'ok', result: plan.state };
  }

  private apply(writes: readonly PinWrite[]): void {
    const board = this.board;
    if (!board) return;
    for (const write of writes) {
      if (write.op === 'digital') board.digitalWrite(write.pin, write.value);
      else if (write.op === 'pwm') board.pwmWrite(write.pin, write.value);
      else board.servoWrite(write.pin, write.angle);
    }
  }

  private scheduleConnect(): void {
    if (this.closed) return;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => void this.connect(), this.config.reconnectMs);
  }

  private async connect(): Promise<void> {
    if (this.closed || this.port) return;
    const { path, baudRate } = this.config;
    if (!existsSync(path)) {
      this.lastProblem = `${path} does not exist`;
      this.scheduleConnect();
      return;
    }
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.on('error', (error) => this.drop(`serial error: ${error.message}`, port));
    try {
      await new Promise<void>((done, fail) => port.open((error) => (error ? fail(error) : done())));
    } catch (error) {
      this.lastProblem = `cannot open ${path}: ${(error as Error).message}`;
      this.scheduleConnect();
      return;
    }
    if (this.closed) {
      port.close(() => {});
      return;
    }
    this.port = port;
    this.lastReceivedAt = Date.now();
    port.on('data', () => {
      this.lastReceivedAt = Date.now();
    });
    port.on('close', () => this.drop('port closed (board unplugged?)', port));
    const board = new Firmata(port, {
      reportVersionTimeout: 1000,
      samplingInterval: this.config.samplingIntervalMs,
    });
    board.on('error', (error: Error) => this.drop(`firmata: ${error.message}`, port));
    this.board = board;
    this.lastProblem = 'waiting for StandardFirmata to report its version';
    this.readyTimer = setTimeout(
      () => this.drop(`no StandardFirmata answer within ${this.config.readyTimeoutMs} ms`, port),
      this.config.readyTimeoutMs,
    );
    board.once('ready', () => {
      clearTimeout(this.readyTimer);
      if (this.port !== port) return;
      const version = board.firmware.version;
      this.firmware =
        `${board.firmware.name ?? 'firmata'} ${version ? `${version.major}.${version.minor}` : ''}`.trim();
      this.configurePins(board);
      this.connected = true;
      this.lastProblem = '';
      this.startHeartbeat(port, board);
      this.emit('event', {
        type: 'connected',
        device: this.devices[0] ?? 'firmata',
        firmware: this.firmware,
      });
    });
  }

  private configurePins(board: FirmataBoard): void {
    for (const [name, device] of Object.entries(this.config.devices)) {
      switch (device.type) {
        case 'switch':
          board.pinMode(device.pin, board.MODES.OUTPUT);
          break;
        case 'pwm':
          board.pinMode(device.pin, board.MODES.PWM);
          break;
        case 'servo':
          board.servoConfig(device.pin, device.minPulseUs, device.maxPulseUs);
          break;
        case 'input': {
          // The pull-up mode arrived with Firmata 2.5; older StandardFirmata builds ignore it.
          const canPullUp = board.pins[device.pin]?.supportedModes.includes(board.MODES.PULLUP) ?? false;
          if (device.pullup && !canPullUp)
            this.emit('event', {
              type: 'fault',
              device: name,
              fault: `${this.firmware || 'this firmware'} has no pull-up mode: fit an external pull-up resistor on pin ${device.pin}`,
            });
          board.pinMode(device.pin, device.pullup && canPullUp ? board.MODES.PULLUP : board.MODES.INPUT);
          board.digitalRead(device.pin, (value) =>
            this.onInput(name, device.activeLow ? value === 0 : value === 1, device.estop),
          );
          break;
        }
        case 'analog':
          board.analogRead(device.channel, (raw) =>
            this.state?.set(device.key, raw * device.scale + device.offset),
          );
          break;
      }
    }
    // Outputs start in their safe state after every (re)connect; nothing resumes by itself.
    this.apply(safeWrites(this.config.devices));
  }

  private onInput(name: string, active: boolean, estop: boolean): void {
    if (this.inputs.get(name) === active) return;
    this.inputs.set(name, active);
    this.state?.set(`${name}.active`, active);
    this.emit('event', { type: 'input', device: name, active });
    if (estop && active) this.emit('event', { type: 'estop', device: name, source: 'firmata' });
  }

  private startHeartbeat(port: SerialPort, board: FirmataBoard): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (this.port !== port) return;
      if (!existsSync(this.config.path)) return this.drop(`${this.config.path} disappeared`, port);
      if (Date.now() - this.lastReceivedAt > this.config.staleAfterMs)
        return this.drop(`no data from the board for ${this.config.staleAfterMs} ms`, port);
      board.reportVersion(() => {}); // any answer refreshes lastReceivedAt
    }, this.config.heartbeatMs);
  }

  private drop(reason: string, port = this.port): void {
    if (!port || port !== this.port) {
      if (port?.isOpen) port.close(() => {});
      return;
    }
    const wasConnected = this.connected;
    this.port = undefined;
    // firmata-io re-emits port errors on the board; a board without an 'error' listener would throw them
    this.board?.removeAllListeners().on('error', () => {});
    this.board = undefined;
    this.connected = false;
    this.inputs.clear();
    clearTimeout(this.readyTimer);
    clearInterval(this.heartbeatTimer);
    if (port.isOpen) port.close(() => {});
    this.lastProblem = reason;
    if (wasConnected)
      this.emit('event', { type: 'disconnected', device: this.devices[0] ?? 'firmata', reason });
    this.scheduleConnect();
  }
}
