/**
 * Splits a compound command into clauses: "drive forward two meters then turn left" → two clauses, each
 * parsed on its own (the model knows one intent per utterance). Splits on sequencing words ("then",
 * "and then", "after that"), on ";" and on "and" only when a command verb follows, so "two and a half
 * meters" and "the kitchen and the bedroom light" stay whole.
 */
const SEQUENCE =
  /\s*[,;]?\s*\b(?:and then|and after that|after that|afterwards|then|followed by|and also)\b\s*,?\s*|\s*;\s*/gi;

const COMMAND_VERBS = [
  'turn',
  'drive',
  'move',
  'go',
  'head',
  'back',
  'reverse',
  'roll',
  'set',
  'switch',
  'open',
  'close',
  'grab',
  'release',
  'drop',
  'stop',
  'dim',
  'brighten',
  'make',
  'rotate',
  'spin',
  'come',
  'put',
  'raise',
  'lower',
  'start',
  'shut',
  'kill',
  'change',
  'tell',
  'face',
  'pivot',
  'let',
  'lights',
  'light',
];
const AND_VERB = new RegExp(
  `\\s*,\\s*(?:and\\s+)?(?=(?:please\\s+)?(?:${COMMAND_VERBS.join('|')})\\b)|\\s+and\\s+(?=(?:please\\s+)?(?:${COMMAND_VERBS.join('|')})\\b)`,
  'gi',
);

export function splitCompound(text: string): string[] {
  return text
    .split(SEQUENCE)
    .flatMap((part) => part.split(AND_VERB))
    .map((part) =>
      part
        .trim()
        .replace(/^(and|so)\s+/i, '')
        .replace(/[,.!]+$/, '')
        .trim(),
    )
    .filter((part) => /[A-Za-z0-9]/.test(part));
}
