import { spokenWords, type VoiceGrammarSpec } from './jsgf.ts';

/**
 * Words whose confusion flips what a command does ("lights on" heard for "lights off"). The recogniser
 * re-scores a hypothesis against its contrasts and refuses it when the audio does not clearly prefer it.
 * Two sources: opposites of English command words (no spec declares "on" vs "off": they are in the
 * templates of two intents), and the single-word synonyms of different values of one list slot
 * (forward vs back, left vs right).
 */
const OPPOSITES: string[][] = [
  ['on', 'off'],
  ['up', 'down'],
  ['open', 'close'],
  ['lock', 'unlock'],
  ['in', 'out'],
  ['raise', 'lower'],
  ['increase', 'decrease'],
  ['more', 'less'],
  ['higher', 'lower'],
  ['brighter', 'dimmer'],
  ['bright', 'dim'],
  ['warmer', 'cooler'],
  ['warm', 'cool'],
  ['faster', 'slower'],
  ['fast', 'slow'],
  // A gripper that lets go when told to hold (measured: "grab it" accepted as "drop it"), and the reverse.
  // Not "hold": "hold on" (wait) would gain rivals its measured margins were not taken with.
  ['grab', 'drop'],
  ['grab', 'release'],
  ['grasp', 'drop'],
  ['grasp', 'release'],
  ['grip', 'release'],
];

/**
 * Heard word → the word it may have been, checked one way only: a "stop" heard is always safe to execute, so
 * it is never held back, but a "start" heard for a spoken "stop" would run what was to be stopped.
 */
const ONE_WAY: string[][] = [['start', 'stop']];

export function contrastTable(spec: VoiceGrammarSpec, vocabulary: string[]): Record<string, string[]> {
  const known = new Set(vocabulary);
  const table = new Map<string, Set<string>>();
  const add = (a: string, b: string) => {
    if (a === b || !known.has(a) || !known.has(b)) return;
    (table.get(a) ?? table.set(a, new Set()).get(a)!).add(b);
    (table.get(b) ?? table.set(b, new Set()).get(b)!).add(a);
  };
  for (const [a, b] of OPPOSITES) add(a!, b!);
  for (const [heard, rival] of ONE_WAY) {
    if (known.has(heard!) && known.has(rival!))
      (table.get(heard!) ?? table.set(heard!, new Set()).get(heard!)!).add(rival!);
  }
  for (const values of Object.values(spec.listSlots ?? {})) {
    const singles = Object.values(values).map((synonyms) =>
      synonyms
        .map((s) => spokenWords(s))
        .filter((w) => w.length === 1)
        .map((w) => w[0]!),
    );
    for (const [i, group] of singles.entries())
      for (const other of singles.slice(i + 1))
        for (const a of group) for (const b of other) if (!group.includes(b) && !other.includes(a)) add(a, b);
  }
  return Object.fromEntries(
    [...table].sort(([a], [b]) => a.localeCompare(b)).map(([w, s]) => [w, [...s].sort()]),
  );
}
