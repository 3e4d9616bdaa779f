import type { FirmataDeviceConfig } from './schema.ts';

/** One write to the board; pure data so the mapping from actions to pins is testable without a board. */
export type PinWrite =
  | { op: 'digital'; pin: number; value: 0 | 1 }
  | { op: 'pwm'; pin: number; value: number }
  | { op: 'servo'; pin: number; angle: number };

export type PinPlan =
  | { ok: true; writes: PinWrite[]; state: Record<string, unknown> }
  | { ok: false; error: string };

function percent(params: Record<string, unknown>): number | string {
  const value = params.brightness_pct ?? params.speed_pct ?? params.value_pct;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100)
    return `brightness_pct (or speed_pct) must be within 0..100, got ${JSON.stringify(value)}`;
  return value;
}

/** Maps an action on a configured device to pin writes and the state it leads to. */
export function planPinAction(
  device: FirmataDeviceConfig,
  action: string,
  params: Record<string, unknown>,
): PinPlan {
  switch (device.type) {
    case 'switch': {
      if (action !== 'on' && action !== 'off')
        return { ok: false, error: `a switch can only turn on or off, not "${action}"` };
      const on = action === 'on';
      return {
        ok: true,
        writes: [{ op: 'digital', pin: device.pin, value: on !== device.activeLow ? 1 : 0 }],
        state: { on },
      };
    }
    case 'pwm': {
      let pct: number;
      if (action === 'on') pct = 100;
      else if (action === 'off') pct = 0;
      else if (action === 'set') {
        const value = percent(params);
        if (typeof value === 'string') return { ok: false, error: value };
        pct = value;
      } else return { ok: false, error: `a PWM output can turn on, off or set, not "${action}"` };
      const duty = Math.round((pct / 100) * 255);
      return {
        ok: true,
        writes: [{ op: 'pwm', pin: device.pin, value: duty }],
        state: { on: pct > 0, level_pct: pct },
      };
    }
    case 'servo': {
      let angle: number;
      if (action === 'open') angle = device.openDeg;
      else if (action === 'close') angle = device.closedDeg;
      else if (action === 'set') {
        const value = params.angle_deg;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 180)
          return { ok: false, error: `angle_deg must be within 0..180, got ${JSON.stringify(value)}` };
        angle = Math.round(value);
      } else return { ok: false, error: `a servo can set, open or close, not "${action}"` };
      return { ok: true, writes: [{ op: 'servo', pin: device.pin, angle }], state: { angle_deg: angle } };
    }
    case 'input':
    case 'analog':
      return { ok: false, error: `an ${device.type} cannot be commanded` };
  }
}

/** Writes that put every output in its safe state: switches off, PWM to zero (servos are left alone). */
export function safeWrites(devices: Record<string, FirmataDeviceConfig>): PinWrite[] {
  const writes: PinWrite[] = [];
  for (const device of Object.values(devices)) {
    if (device.type === 'switch')
      writes.push({ op: 'digital', pin: device.pin, value: device.activeLow ? 1 : 0 });
    if (device.type === 'pwm') writes.push({ op: 'pwm', pin: device.pin, value: 0 });
  }
  return writes;
}
