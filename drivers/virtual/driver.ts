import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Action } from '../../agent/decide/types.ts';
import type { StateSink } from '../../agent/state/types.ts';
import type { ActionOutcome, Driver, DriverHealth } from '../types.ts';
import { advance, bearingTo, normalizeDeg, type Pose, rayDistance } from './geometry.ts';
import { DEFAULT_PLACES, type Place, type VirtualDriverConfig } from './schema.ts';

type Segment = { kind: 'turn'; remaining: number } | { kind: 'drive'; remaining: number };

interface Motion {
  segments: Segment[];
  finish: (outcome: ActionOutcome) => void;
}

const num = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * The default world: a kinematic differential-drive robot with a gripper, three lights, a thermostat and a
 * fan, all simulated in real time (scaled by `timeScale`). Motion advances on a timer, so stop, pre-emption
 * and the deadman behave as with real motors; state goes to the store like real telemetry.
 */
export class VirtualWorld extends EventEmitter implements Driver {
  readonly kind = 'virtual';
  readonly devices: readonly string[];
  private state: StateSink | undefined;
  private pose: Pose;
  private speedMps: number;
  private battery: number;
  private gripper: 'open' | 'closed' = 'open';
  private readonly lights = new Map<
    string,
    { on: boolean; brightness_pct: number; color: { r: number; g: number; b: number } }
  >();
  private fan = { on: false, speed_pct: 0 };
  private targetC: number;
  private readonly temps = new Map<string, number>();
  private motion: Motion | undefined;
  private motionTimer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private sensorTimer: NodeJS.Timeout | undefined;
  private lastSensor = 0;
  private fault: string | undefined;
  private readonly places: Record<string, Place>;

  /** @param worldPlaces named places of the world config, used unless the driver config has its own. */
  constructor(
    private readonly config: VirtualDriverConfig,
    worldPlaces?: Record<string, Place>,
  ) {
    super();
    this.places = config.places ?? worldPlaces ?? DEFAULT_PLACES;
    this.pose = { ...config.robot.start };
    this.speedMps = Math.min(config.robot.speedMps, config.robot.maxSpeedMps);
    this.battery = config.robot.batteryPct;
    this.targetC = config.thermostat.targetC;
    for (const room of Object.keys(config.rooms))
      this.temps.set(room, config.thermostat.startC + config.rooms[room]!.offsetC);
    for (const room of config.lights)
      this.lights.set(`light.${room}`, { on: false, brightness_pct: 100, color: { r: 255, g: 255, b: 255 } });
    this.devices = ['robot', 'gripper', ...this.lights.keys(), 'thermostat', 'fan'];
  }

  async open(state: StateSink): Promise<void> {
    this.state = state;
    this.publishAll();
    this.lastSensor = performance.now();
    this.sensorTimer = setInterval(() => this.sensorTick(), this.config.sensorPeriodMs);
    this.sensorTimer.unref();
  }

  async close(): Promise<void> {
    this.halt({ status: 'cancelled', error: 'driver closed' });
    if (this.sensorTimer) clearInterval(this.sensorTimer);
    this.sensorTimer = undefined;
  }

  async safeStop(): Promise<void> {
    this.halt({ status: 'cancelled', error: 'safe stop' });
  }

  health(): DriverHealth {
    return this.fault ? { ok: false, detail: this.fault } : { ok: true };
  }

  /** Where the robot is now (also in the state store as robot.pose). */
  get robotPose(): Pose {
    return { ...this.pose };
  }

  get moving(): boolean {
    return this.motion !== undefined;
  }

  async execute(action: Action, signal: AbortSignal): Promise<ActionOutcome> {
    if (signal.aborted) return { status: 'cancelled', error: String(signal.reason ?? 'cancelled') };
    const { device, params } = action;
    if (device === 'robot') return this.robotAction(action, signal);
    if (device === 'gripper') return this.gripperAction(action, signal);
    if (this.lights.has(device)) return this.lightAction(action);
    if (device === 'thermostat') return this.thermostatAction(action);
    if (device === 'fan') return this.fanAction(action);
    return { status: 'rejected', error: `unknown device ${device} (params ${JSON.stringify(params)})` };
  }

  // --- robot -------------------------------------------------------------------------------------------

  private robotAction(action: Action, signal: AbortSignal): Promise<ActionOutcome> | ActionOutcome {
    const p = action.params;
    switch (action.action) {
      case 'stop':
        this.halt({ status: 'cancelled', error: 'stopped' });
        return { status: 'ok', result: { pose: this.robotPose } };
      case 'set_speed': {
        if (!num(p.speed_mps) || p.speed_mps <= 0)
          return { status: 'rejected', error: 'set_speed needs speed_mps > 0' };
        if (p.speed_mps > this.config.robot.maxSpeedMps) {
          return {
            status: 'rejected',
            error: `speed ${p.speed_mps} m/s is above the robot's ${this.config.robot.maxSpeedMps} m/s`,
          };
        }
        this.speedMps = p.speed_mps;
        this.state?.set('robot.speed_mps', this.speedMps);
        return { status: 'ok', result: { speed_mps: this.speedMps } };
      }
      case 'move':
        if (!num(p.distance_m)) return { status: 'rejected', error: 'move needs a finite distance_m' };
        return this.startMotion([{ kind: 'drive', remaining: p.distance_m }], signal);
      case 'turn':
        if (!num(p.angle_deg)) return { status: 'rejected', error: 'turn needs a finite angle_deg' };
        return this.startMotion([{ kind: 'turn', remaining: p.angle_deg }], signal);
      case 'goto': {
        const place = typeof p.place === 'string' ? this.places[p.place] : undefined;
        if (!place) {
          return {
            status: 'rejected',
            error: `unknown place ${JSON.stringify(p.place)} (known: ${Object.keys(this.places).join(', ')})`,
          };
        }
        const { turnDeg, distance } = bearingTo(this.pose, place.x, place.y);
        const segments: Segment[] = [
          { kind: 'turn', remaining: turnDeg },
          { kind: 'drive', remaining: distance },
        ];
        if (place.heading_deg !== undefined) {
          const arrival = distance > 1e-9 ? this.pose.heading_deg + turnDeg : this.pose.heading_deg;
          segments.push({ kind: 'turn', remaining: normalizeDeg(place.heading_deg - arrival) });
        }
        return this.startMotion(segments, signal);
      }
      default:
        return {
          status: 'rejected',
          error: `robot has no action ${action.action} (move, turn, set_speed, goto, stop)`,
        };
    }
  }

  private startMotion(segments: Segment[], signal: AbortSignal): Promise<ActionOutcome> {
    if (this.battery <= 0) return Promise.resolve({ status: 'rejected', error: 'battery empty' });
    // A new motion replaces a running one (the executor queues per device, so this is a direct call).
    this.halt({ status: 'cancelled', error: 'pre-empted' });
    return new Promise<ActionOutcome>((resolve) => {
      const onAbort = () => this.halt({ status: 'cancelled', error: String(signal.reason ?? 'cancelled') });
      signal.addEventListener('abort', onAbort, { once: true });
      this.motion = {
        segments: segments.filter((s) => Math.abs(s.remaining) > 1e-9),
        finish: (outcome) => {
          signal.removeEventListener('abort', onAbort);
          resolve({
            ...outcome,
            result: { ...outcome.result, pose: this.robotPose, battery_pct: this.battery },
          });
        },
      };
      this.state?.set('robot.moving', true);
      this.lastTick = performance.now();
      this.motionTimer = setInterval(() => this.motionTick(), this.config.tickMs);
      this.motionTick();
    });
  }

  /** Ends the running motion (if any) with `outcome`; motors off immediately. */
  private halt(outcome: ActionOutcome): void {
    if (this.motionTimer) clearInterval(this.motionTimer);
    this.motionTimer = undefined;
    const motion = this.motion;
    if (!motion) return;
    this.motion = undefined;
    this.publishRobot();
    this.state?.set('robot.moving', false);
    motion.finish(outcome);
  }

  private motionTick(): void {
    const now = performance.now();
    const realMs = now - this.lastTick;
    this.lastTick = now;
    // The simulated motor controller's own deadman (like the firmware's): after a gap in control ticks the
    // motors were already off, so none of that gap counts as motion.
    if (realMs > this.config.deadmanMs) {
      this.emit('event', {
        type: 'deadman',
        device: 'robot',
        detail: `no control tick for ${Math.round(realMs)} ms`,
      });
      this.halt({
        status: 'error',
        error: `deadman: control loop stalled for ${Math.round(realMs)} ms, motors stopped`,
      });
      return;
    }
    let dt = (realMs / 1000) * this.config.timeScale;
    const r = this.config.robot;
    while (this.motion && dt > 1e-9) {
      const segment = this.motion.segments[0];
      if (!segment) break;
      if (segment.kind === 'turn') {
        const step = Math.min(Math.abs(segment.remaining), r.turnRateDegS * dt);
        const signed = Math.sign(segment.remaining) * step;
        this.pose.heading_deg = normalizeDeg(this.pose.heading_deg + signed);
        segment.remaining -= signed;
        dt -= step / r.turnRateDegS;
        this.drain(0, step / r.turnRateDegS);
      } else {
        const direction = Math.sign(segment.remaining);
        const free =
          rayDistance(
            this.pose.x,
            this.pose.y,
            this.pose.heading_deg + (direction < 0 ? 180 : 0),
            this.config.bounds,
            this.config.obstacles,
          ) - r.radiusM;
        const step = Math.min(Math.abs(segment.remaining), this.speedMps * dt, Math.max(0, free));
        this.pose = advance(this.pose, direction * step);
        segment.remaining -= direction * step;
        dt -= step / this.speedMps;
        this.drain(step, step / this.speedMps);
        if (free <= step + 1e-6 && Math.abs(segment.remaining) > 1e-6) {
          this.emit('event', { type: 'bump', device: 'robot', pose: this.robotPose });
          this.halt({
            status: 'error',
            error: `bumped into an obstacle ${direction > 0 ? 'ahead' : 'behind'}`,
          });
          return;
        }
      }
      if (Math.abs(segment.remaining) <= 1e-6) this.motion.segments.shift();
      if (this.battery <= 0) {
        this.halt({ status: 'error', error: 'battery empty' });
        return;
      }
    }
    this.publishRobot();
    if (this.motion && this.motion.segments.length === 0) this.halt({ status: 'ok' });
  }

  private drain(meters: number, seconds: number): void {
    const r = this.config.robot;
    this.battery = clamp(this.battery - meters * r.drainPctPerM - seconds * r.drainPctPerS, 0, 100);
  }

  // --- home --------------------------------------------------------------------------------------------

  private async gripperAction(action: Action, signal: AbortSignal): Promise<ActionOutcome> {
    if (action.action !== 'open' && action.action !== 'close') {
      return { status: 'rejected', error: `gripper has no action ${action.action} (open, close)` };
    }
    const ms = (this.config.robot.gripperS * 1000) / this.config.timeScale;
    const done = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve(false);
        },
        { once: true },
      );
    });
    if (!done) return { status: 'cancelled', error: String(signal.reason ?? 'cancelled') };
    this.gripper = action.action === 'open' ? 'open' : 'closed';
    this.state?.set('gripper.state', this.gripper);
    return { status: 'ok', result: { state: this.gripper } };
  }

  private lightAction(action: Action): ActionOutcome {
    const light = this.lights.get(action.device)!;
    const p = action.params;
    if (action.action === 'on') light.on = true;
    else if (action.action === 'off') light.on = false;
    else if (action.action === 'set') {
      const color = p.color as Record<string, unknown> | undefined;
      if (p.brightness_pct === undefined && color === undefined) {
        return { status: 'rejected', error: 'set needs brightness_pct or color {r, g, b}' };
      }
      if (p.brightness_pct !== undefined) {
        if (!num(p.brightness_pct)) return { status: 'rejected', error: 'brightness_pct must be a number' };
        light.brightness_pct = clamp(p.brightness_pct, 0, 100);
        light.on = light.brightness_pct > 0;
      }
      if (color !== undefined) {
        if (!color || !num(color.r) || !num(color.g) || !num(color.b)) {
          return { status: 'rejected', error: 'color must be {r, g, b} numbers 0-255' };
        }
        light.color = {
          r: clamp(Math.round(color.r), 0, 255),
          g: clamp(Math.round(color.g), 0, 255),
          b: clamp(Math.round(color.b), 0, 255),
        };
        light.on = true;
      }
    } else
      return { status: 'rejected', error: `${action.device} has no action ${action.action} (on, off, set)` };
    this.publishLight(action.device);
    return { status: 'ok', result: { ...light, color: { ...light.color } } };
  }

  private thermostatAction(action: Action): ActionOutcome {
    const p = action.params;
    if (action.action === 'set') {
      if (!num(p.target_c)) return { status: 'rejected', error: 'set needs a finite target_c' };
      this.targetC = p.target_c;
    } else if (action.action === 'adjust') {
      if (!num(p.delta_c)) return { status: 'rejected', error: 'adjust needs a finite delta_c' };
      this.targetC += p.delta_c;
    } else return { status: 'rejected', error: `thermostat has no action ${action.action} (set, adjust)` };
    this.state?.set('thermostat.target_c', this.targetC);
    return { status: 'ok', result: { target_c: this.targetC } };
  }

  private fanAction(action: Action): ActionOutcome {
    const p = action.params;
    if (action.action === 'on') this.fan = { on: true, speed_pct: this.fan.speed_pct || 100 };
    else if (action.action === 'off') this.fan = { ...this.fan, on: false };
    else if (action.action === 'set') {
      if (!num(p.speed_pct)) return { status: 'rejected', error: 'set needs a finite speed_pct' };
      const speed = clamp(p.speed_pct, 0, 100);
      this.fan = { on: speed > 0, speed_pct: speed };
    } else return { status: 'rejected', error: `fan has no action ${action.action} (on, off, set)` };
    this.state?.set('fan.on', this.fan.on);
    this.state?.set('fan.speed_pct', this.fan.speed_pct);
    return { status: 'ok', result: { ...this.fan } };
  }

  // --- sensors and state ---------------------------------------------------------------------------------

  private sensorTick(): void {
    const now = performance.now();
    const seconds = ((now - this.lastSensor) / 1000) * this.config.timeScale;
    this.lastSensor = now;
    // Each room relaxes exponentially toward the thermostat target plus its offset.
    const keep = (1 - this.config.thermostat.settlePerS) ** seconds;
    for (const [room, t] of this.temps) {
      const goal = this.targetC + this.config.rooms[room]!.offsetC;
      this.temps.set(room, goal + (t - goal) * keep);
    }
    if (!this.motion) this.drain(0, seconds);
    this.publishSensors();
  }

  private publishRobot(): void {
    const s = this.state;
    if (!s) return;
    s.set('robot.pose', {
      x: round(this.pose.x, 3),
      y: round(this.pose.y, 3),
      heading_deg: round(this.pose.heading_deg, 2),
    });
    s.set('robot.battery_pct', round(this.battery, 2));
    s.set('sensors.battery_pct', round(this.battery, 2));
    s.set('sensors.front_distance_cm', round(this.frontDistanceCm(), 1));
  }

  frontDistanceCm(): number {
    const r = this.config.robot;
    const d =
      rayDistance(
        this.pose.x,
        this.pose.y,
        this.pose.heading_deg,
        this.config.bounds,
        this.config.obstacles,
      ) - r.radiusM;
    return Math.min(r.frontRangeCm, Math.max(0, d * 100));
  }

  private publishSensors(): void {
    const s = this.state;
    if (!s) return;
    for (const [room, t] of this.temps) s.set(`sensors.temperature.${room}`, round(t, 2));
    const first = this.temps.get('living_room') ?? [...this.temps.values()][0];
    if (first !== undefined) s.set('thermostat.current_c', round(first, 2));
    this.publishRobot();
  }

  private publishLight(device: string): void {
    const light = this.lights.get(device)!;
    this.state?.set(`${device}.on`, light.on);
    this.state?.set(`${device}.brightness_pct`, light.brightness_pct);
    this.state?.set(`${device}.color`, { ...light.color });
  }

  private publishAll(): void {
    const s = this.state!;
    s.set('robot.speed_mps', this.speedMps);
    s.set('robot.moving', false);
    s.set('gripper.state', this.gripper);
    for (const device of this.lights.keys()) this.publishLight(device);
    s.set('thermostat.target_c', this.targetC);
    s.set('fan.on', this.fan.on);
    s.set('fan.speed_pct', this.fan.speed_pct);
    this.publishSensors();
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
