import { EventEmitter } from 'node:events';
import type { Action } from '../../agent/decide/types.ts';
import type { StateSink } from '../../agent/state/types.ts';
import type { ActionOutcome, Driver, DriverHealth } from '../types.ts';
import { type Reply, SerialLink } from './link.ts';
import { MAX_DUTY, type MotionPlan, planDrive, planMove, planTurn } from './motion.ts';
import { type SerialDriverConfig, type SerialDriverConfigInput, serialDriverSchema } from './schema.ts';

/**
 * A differential-drive robot and its gripper servo behind one serial port (drivers/firmware speaks
 * the protocol). Motion is open-loop and timed: the driver holds the motors for the computed time while
 * the link's heartbeat keeps the firmware deadman from firing, then stops them.
 */
export class SerialDriver extends EventEmitter implements Driver {
  readonly kind = 'serial';
  readonly devices: readonly string[];
  readonly link: SerialLink;
  readonly config: SerialDriverConfig;
  private state: StateSink | undefined;
  private speedMps: number;
  /** The firmware's e-stop latch as last reported, and whether this driver's own `estop` action set it. */
  private firmwareLatched = false;
  private latchedByAction = false;
  private motion: AbortController | undefined;

  constructor(config: SerialDriverConfigInput) {
    super();
    this.config = serialDriverSchema.parse(config);
    this.devices = [this.config.devices.robot, this.config.devices.gripper];
    this.speedMps = Math.min(this.config.robot.speedMps, this.config.robot.maxSpeedMps);
    this.link = new SerialLink(this.config);
  }

  async open(state: StateSink): Promise<void> {
    this.state = state;
    const robot = this.config.devices.robot;
    const link = this.link;
    link.on('connected', ({ firmware }) => {
      state.set(`${robot}.connected`, true);
      this.emit('event', { type: 'connected', device: robot, firmware });
    });
    link.on('disconnected', ({ reason }) => {
      this.motion?.abort();
      state.set(`${robot}.connected`, false);
      this.emit('event', { type: 'disconnected', device: robot, reason });
    });
    link.on('hello', ({ firmware, version }) => {
      // A HELLO after the sync means the board rebooted under us: its motors are off now.
      if (link.connected)
        this.emit('event', { type: 'reset', device: robot, firmware: `${firmware} ${version}` });
    });
    link.on('telemetry', (fields: Record<string, number>) => this.onTelemetry(fields));
    link.on('event', ({ name, fields }: { name: string; fields: Record<string, number> }) =>
      this.onDeviceEvent(name, fields),
    );
    link.on('overflow', (limit: number) =>
      this.emit('event', {
        type: 'fault',
        device: robot,
        fault: `device sent a line longer than ${limit} bytes`,
      }),
    );
    link.on('invalid', ({ line, why }) =>
      this.emit('event', {
        type: 'fault',
        device: robot,
        fault: `unparsable line from device (${why}): ${line.slice(0, 80)}`,
      }),
    );
    state.set(`${robot}.connected`, false);
    link.start();
    await link.waitConnected(this.config.openTimeoutMs);
  }

  async close(): Promise<void> {
    await this.safeStop();
    await this.link.stop();
  }

  health(): DriverHealth {
    if (this.link.connected) return { ok: true, detail: `${this.config.path}: ${this.link.firmware}` };
    return { ok: false, detail: `${this.config.path}: ${this.link.lastProblem}` };
  }

  async safeStop(): Promise<void> {
    this.motion?.abort();
    if (!this.link.connected) return; // no link: the firmware deadman stops the motors by itself
    await this.link.request('STOP', [], { retries: 1 }).catch(() => {});
  }

  async execute(action: Action, signal: AbortSignal): Promise<ActionOutcome> {
    try {
      if (action.device === this.config.devices.robot) return await this.executeRobot(action, signal);
      if (action.device === this.config.devices.gripper) return await this.executeGripper(action, signal);
      return { status: 'rejected', error: `serial driver has no device "${action.device}"` };
    } catch (error) {
      return { status: 'error', error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async executeRobot(action: Action, signal: AbortSignal): Promise<ActionOutcome> {
    const geometry = this.config.robot;
    const params = action.params ?? {};
    switch (action.action) {
      case 'move':
        return this.runMotion(planMove(params, this.speedMps, geometry), signal);
      case 'turn':
        return this.runMotion(planTurn(params, this.speedMps, geometry), signal);
      case 'drive':
        return this.runMotion(planDrive(params), signal);
      case 'set_speed': {
        const speed = params.speed_mps;
        if (typeof speed !== 'number' || !Number.isFinite(speed) || speed <= 0)
          return {
            status: 'rejected',
            error: `speed_mps must be a positive number, got ${JSON.stringify(speed)}`,
          };
        this.speedMps = Math.min(speed, geometry.maxSpeedMps);
        return { status: 'ok', result: { speed_mps: this.speedMps } };
      }
      case 'stop':
        this.motion?.abort();
        return outcome(await this.link.request('STOP'));
      case 'estop':
        this.motion?.abort();
        this.latchedByAction = true;
        return outcome(await this.link.request('ESTOP'));
      case 'reset_estop': {
        const reply = await this.link.request('CLEAR');
        if (reply.ok) this.latchedByAction = false;
        return outcome(reply);
      }
      default:
        return { status: 'rejected', error: `robot has no action "${action.action}"` };
    }
  }

  private async executeGripper(action: Action, signal: AbortSignal): Promise<ActionOutcome> {
    const { openDeg, closedDeg, travelMs } = this.config.gripper;
    let angle: number;
    if (action.action === 'open') angle = openDeg;
    else if (action.action === 'close') angle = closedDeg;
    else if (action.action === 'set') {
      const value = action.params?.angle_deg;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 180)
        return { status: 'rejected', error: `angle_deg must be within 0..180, got ${JSON.stringify(value)}` };
      angle = Math.round(value);
    } else return { status: 'rejected', error: `gripper has no action "${action.action}"` };
    const reply = await this.link.request('SERVO', [angle]);
    if (!reply.ok) return outcome(reply);
    await sleep(travelMs, signal);
    this.state?.set(
      `${this.config.devices.gripper}.state`,
      angle === openDeg ? 'open' : angle === closedDeg ? 'closed' : 'partly_open',
    );
    return signal.aborted ? { status: 'cancelled' } : { status: 'ok', result: { angle_deg: angle } };
  }

  private async runMotion(plan: MotionPlan, signal: AbortSignal): Promise<ActionOutcome> {
    if (!plan.ok) return { status: 'rejected', error: plan.error };
    const { left, right, durationMs } = plan.drive;
    this.motion?.abort(); // a new motion replaces the running one
    const motion = new AbortController();
    this.motion = motion;
    const stopSignal = AbortSignal.any([signal, motion.signal]);
    const started = Date.now();
    try {
      if (durationMs > 0) {
        let reply = await this.link.request('M', [left, right]);
        if (!reply.ok && reply.code === 5 && !this.latchedByAction) {
          // Latched by the robot's button (or before a reconnect): that was reported as an e-stop event,
          // so the agent's own latch had to be reset explicitly for this action to get here. Release the
          // firmware's latch too; it refuses while the button is still pressed.
          const clear = await this.link.request('CLEAR');
          if (!clear.ok) return outcome(clear);
          reply = await this.link.request('M', [left, right]);
        }
        if (!reply.ok) return outcome(reply);
        await sleep(durationMs, stopSignal);
      }
    } finally {
      if (this.motion === motion) this.motion = undefined;
      // Always stop at the end (and after a cancel); if the link is gone the firmware deadman stops it.
      if (this.link.connected) await this.link.request('STOP', [], { retries: 1 }).catch(() => {});
    }
    const elapsedS = (Date.now() - started) / 1000;
    const result = { duration_s: elapsedS, left: left / MAX_DUTY, right: right / MAX_DUTY };
    if (!this.link.connected)
      return {
        status: 'error',
        error: `device disconnected during motion: ${this.link.lastProblem}`,
        result,
      };
    if (stopSignal.aborted) return { status: 'cancelled', result };
    return { status: 'ok', result };
  }

  private onDeviceEvent(name: string, fields: Record<string, number>): void {
    const robot = this.config.devices.robot;
    if (name === 'estop') {
      // source=1: the e-stop button wired to the robot's MCU; 0: our own ESTOP request.
      if (fields.source === 1)
        this.firmwareLatched = this.reportLatch('e-stop button pressed on the robot', 'button');
      else this.firmwareLatched = true;
      return;
    }
    this.emit('event', { type: name, device: robot, ...fields, source: `${robot}:firmware` });
  }

  /** A latch the agent did not ask for becomes an e-stop event, which trips the agent's own latch. */
  private reportLatch(reason: string, what = 'firmware'): true {
    if (!this.latchedByAction) {
      const robot = this.config.devices.robot;
      this.emit('event', { type: 'estop', device: robot, source: `${robot}:${what}`, reason });
    }
    return true;
  }

  private onTelemetry(fields: Record<string, number>): void {
    const state = this.state;
    if (!state) return;
    const { robot, gripper } = this.config.devices;
    const at = Date.now();
    if (fields.l !== undefined && fields.r !== undefined)
      state.set(`${robot}.motors`, { left: fields.l / MAX_DUTY, right: fields.r / MAX_DUTY }, at);
    if (fields.g !== undefined) state.set(`${gripper}.angle_deg`, fields.g, at);
    if (fields.es !== undefined) {
      state.set(`${robot}.firmware_estop`, fields.es === 1, at);
      if (fields.es === 1)
        this.firmwareLatched ||= this.reportLatch('the robot firmware reports its e-stop latched');
      else this.firmwareLatched = false;
    }
    if (fields.dm !== undefined) state.set(`${robot}.deadman_tripped`, fields.dm === 1, at);
    for (const [field, mapping] of Object.entries(this.config.telemetry)) {
      const raw = fields[field];
      if (raw !== undefined) state.set(mapping.key, raw * mapping.scale + mapping.offset, at);
    }
    this.emit('event', { type: 'telemetry', device: robot, fields });
  }
}

function outcome(reply: Reply): ActionOutcome {
  if (reply.ok) return { status: 'ok', result: reply.data.length ? { reply: reply.data.join(' ') } : {} };
  // ERR 5: the firmware's own e-stop latch refused it; 2/3: the request itself was wrong.
  const status = reply.code === 5 || reply.code === 2 || reply.code === 3 ? 'rejected' : 'error';
  return { status, error: `device: ERR ${reply.code} ${reply.reason}` };
}

/** Resolves after `ms`, or early when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}
