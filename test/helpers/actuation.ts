import { type Actuation, startActuation } from '../../agent/act/setup.ts';
import { configSchema, type SlingConfigInput } from '../../agent/config/schema.ts';
import { StateStore } from '../../agent/state/store.ts';
import type { MqttLink } from '../../drivers/mqtt/link.ts';

type ActuationInput = Pick<SlingConfigInput, 'drivers' | 'safety' | 'device' | 'mqtt' | 'world'>;

/**
 * Tests share two cores with other work, so the deadman timings are relaxed unless a test sets them: a
 * scheduling hiccup must not stop a robot in a test that is about something else.
 */
function lenient(input: ActuationInput): ActuationInput {
  const drivers = Object.fromEntries(
    Object.entries(input.drivers ?? { world: { kind: 'virtual' as const } }).map(([name, d]) => [
      name,
      d.kind === 'virtual' ? { deadmanMs: 2000, ...d } : d,
    ]),
  );
  const safety = input.safety ?? {};
  return { ...input, drivers, safety: { ...safety, deadman: { stallMs: 2000, ...safety.deadman } } };
}

/** A real actuation stack (drivers from config, safety, executor) on a fresh state store. */
export async function startTestActuation(
  input: ActuationInput = {},
  mqtt?: MqttLink,
  topicBase?: string,
): Promise<Actuation & { state: StateStore }> {
  const config = configSchema.parse(lenient(input));
  const state = new StateStore();
  const actuation = await startActuation(config, {
    state,
    ...(mqtt ? { mqtt } : {}),
    ...(topicBase ? { topicBase } : {}),
  });
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
