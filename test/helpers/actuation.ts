import { type Actuation, startActuation } from '../../agent/act/setup.ts';
import { configSchema, type SlingConfigInput } from '../../agent/config/schema.ts';
import { StateStore } from '../../agent/state/store.ts';
import type { MqttLink } from '../../drivers/mqtt/link.ts';

/** A real actuation stack (drivers from config, safety, executor) on a fresh state store. */
export async function startTestActuation(
  input: Pick<SlingConfigInput, 'drivers' | 'safety'> = {},
  mqtt?: MqttLink,
): Promise<Actuation & { state: StateStore }> {
  const config = configSchema.parse(input);
  const state = new StateStore();
  const actuation = await startActuation(config, mqtt ? { state, mqtt } : { state });
  return { ...actuation, state };
}

/** Resolves when `predicate` holds for the store (checked now and on every change); rejects after timeoutMs. */
export function waitForState(
  state: StateStore,
  predicate: (state: StateStore) => boolean,
  timeoutMs = 5000,
  what = 'state condition',
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate(state)) return resolve();
    const timer = setTimeout(() => {
      state.off('change', check);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    function check() {
      if (!predicate(state)) return;
      clearTimeout(timer);
      state.off('change', check);
      resolve();
    }
    state.on('change', check);
  });
}

export const poseOf = (state: StateStore) =>
  state.get('robot.pose')?.value as { x: number; y: number; heading_deg: number };

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
