import type { World } from '../decide/world.ts';
import { deviceRule } from './rules.ts';
import type { DeviceSafety, SafetyConfig } from './schema.ts';

/**
 * The safety config the layer enforces: its own rules plus each world device's limits and policy, so a
 * range is written once (`world.devices.<id>.limits`) and enforced twice — by the skills, which say so in
 * the reply, and here, after everything, whatever produced the action. Where both name the same param,
 * the safety rule's range wins: it is the hard bound.
 */
export function withWorldLimits(safety: SafetyConfig, world: Pick<World, 'devices'>): SafetyConfig {
  const devices: Record<string, DeviceSafety> = { ...safety.devices };
  for (const [id, device] of Object.entries(world.devices)) {
    const rule = deviceRule(safety, id);
    const fromWorld = Object.fromEntries(
      Object.entries(device.limits).map(([param, range]) => [
        param,
        { ...range, policy: range.policy ?? device.policy },
      ]),
    );
    devices[id] = {
      policy: rule?.policy ?? 'clamp',
      motion: rule?.motion ?? false,
      maxActionS: rule?.maxActionS ?? 120,
      limits: { ...fromWorld, ...(rule?.limits ?? {}) },
    };
  }
  return { ...safety, devices };
}
