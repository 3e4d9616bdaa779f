/**
 * Pure kinematics for an open-loop differential drive: turns robot actions into a motor duty pair and
 * a duration. Units per REP 103: meters, seconds, degrees, counter-clockwise (left) positive.
 */
export const MAX_DUTY = 255;

export interface DriveGeometry {
  /** Ground speed at full duty. */
  maxSpeedMps: number;
  trackWidthM: number;
}

export interface TimedDrive {
  left: number;
  right: number;
  durationMs: number;
}

export type MotionPlan = { ok: true; drive: TimedDrive } | { ok: false; error: string };

function finiteParam(params: Record<string, unknown>, name: string): number | string {
  const value = params[name];
  if (typeof value !== 'number' || !Number.isFinite(value))
    return `${name} must be a finite number, got ${JSON.stringify(value)}`;
  return value;
}

function dutyFor(speedMps: number, geometry: DriveGeometry): number {
  return Math.max(1, Math.min(MAX_DUTY, Math.round((MAX_DUTY * speedMps) / geometry.maxSpeedMps)));
}

/** move {distance_m}: both wheels at the current speed (negative distance = backwards). */
export function planMove(
  params: Record<string, unknown>,
  speedMps: number,
  geometry: DriveGeometry,
): MotionPlan {
  const distance = finiteParam(params, 'distance_m');
  if (typeof distance === 'string') return { ok: false, error: distance };
  const speed = Math.min(speedMps, geometry.maxSpeedMps);
  const duty = dutyFor(speed, geometry) * Math.sign(distance);
  const actualSpeed = (Math.abs(duty) / MAX_DUTY) * geometry.maxSpeedMps;
  const durationMs = distance === 0 ? 0 : (Math.abs(distance) / actualSpeed) * 1000;
  return { ok: true, drive: { left: duty, right: duty, durationMs } };
}

/** turn {angle_deg}: spin in place, positive = left (right wheel forward). */
export function planTurn(
  params: Record<string, unknown>,
  speedMps: number,
  geometry: DriveGeometry,
): MotionPlan {
  const angle = finiteParam(params, 'angle_deg');
  if (typeof angle === 'string') return { ok: false, error: angle };
  const speed = Math.min(speedMps, geometry.maxSpeedMps);
  const duty = dutyFor(speed, geometry);
  const wheelSpeed = (duty / MAX_DUTY) * geometry.maxSpeedMps;
  const arcM = (Math.abs(angle) * Math.PI * geometry.trackWidthM) / 360;
  const sign = Math.sign(angle);
  return {
    ok: true,
    drive: {
      left: -sign * duty,
      right: sign * duty,
      durationMs: angle === 0 ? 0 : (arcM / wheelSpeed) * 1000,
    },
  };
}

/** drive {left, right, duration_s}: raw wheel fractions in -1..1 for a bounded time (teleoperation). */
export function planDrive(params: Record<string, unknown>): MotionPlan {
  const left = finiteParam(params, 'left');
  const right = finiteParam(params, 'right');
  const duration = finiteParam(params, 'duration_s');
  for (const problem of [left, right, duration])
    if (typeof problem === 'string') return { ok: false, error: problem };
  const [l, r, d] = [left as number, right as number, duration as number];
  if (Math.abs(l) > 1 || Math.abs(r) > 1) return { ok: false, error: 'left and right must be within -1..1' };
  if (d < 0 || d > 60) return { ok: false, error: 'duration_s must be within 0..60' };
  return {
    ok: true,
    drive: { left: Math.round(l * MAX_DUTY), right: Math.round(r * MAX_DUTY), durationMs: d * 1000 },
  };
}
