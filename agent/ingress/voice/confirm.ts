import { z } from 'zod';
import type { Doubt } from './recognizer.ts';

/** An answer is decoded as words: digits and symbols have no pronunciation in the answer grammar. */
const spokenPhrase = z
  .string()
  .regex(/^(?=.*[a-zA-Z])[a-zA-Z' -]+$/, 'letters, apostrophes, hyphens and spaces only (a spoken phrase)');

/** `voice.confirm:` spoken confirmation of commands heard by voice (on by default for robot motion). */
export const confirmSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('ask back before running the intents below when heard by voice'),
    intents: z
      .array(z.string().regex(/^[A-Za-z0-9_.]+\*?$/, 'an intent name, or a prefix ending in *'))
      // Whatever moves the robot or its gripper, and an e-stop reset: measured (bench:voice), short
      // utterances and out-of-scope speech were heard as "let go" (the gripper drops what it holds) and
      // "unlock the motors" (the e-stop reset). Speed changes are not held: a question would delay them while
      // the robot moves, and safety limits bound them.
      .default(['robot.move', 'robot.turn', 'robot.goto', 'robot.dock', 'robot.reset_estop', 'gripper.*'])
      .describe('intents (or prefixes ending in *) that need a spoken "yes"; stop intents never do'),
    askWhenUnsure: z
      .boolean()
      .default(true)
      .describe(
        'a command refused only because a word that changes it (on/off, left/right, a room) was too close to call is asked back ("..., on, not off?") instead',
      ),
    timeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(60000)
      .default(8000)
      .describe('no answer within this: cancelled'),
    // Few, distinct "yes" phrases: measured, "go ahead" and "do it" attracted commands and questions.
    yes: z.array(spokenPhrase).min(1).default(['yes', 'confirm']),
    no: z.array(spokenPhrase).min(1).default(['no', 'cancel', 'no thanks', 'never mind']),
  })
  .prefault({});

export type ConfirmConfig = z.infer<typeof confirmSchema>;

const words = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z' ]/g, ' ')
    .trim()
    .split(/\s+/)
    .join(' ');

export type Answer = 'yes' | 'no' | 'other';

/** The whole utterance must be one of the phrases: "yes" inside a longer sentence is not consent. */
export function classifyAnswer(text: string, config: Pick<ConfirmConfig, 'yes' | 'no'>): Answer {
  const said = words(text);
  if (config.yes.some((p) => words(p) === said)) return 'yes';
  if (config.no.some((p) => words(p) === said)) return 'no';
  return 'other';
}

// Stopping must never wait for a "yes", whatever the configuration says.
const STOP = /(^|\.)(e?stop|halt)$/;

/** What a parse or plan says about its intents: one per clause, or a single-clause one's intent only. */
export interface ParsedIntents {
  clauses?: readonly { intent: string | null }[];
  intent?: string | null;
}

/** The intents a parse or plan runs, one per clause. */
export function clauseIntents(r: ParsedIntents): (string | null)[] {
  return r.clauses ? r.clauses.map((c) => c.intent) : [r.intent ?? null];
}

/** True when a command does nothing but stop (a stop, an e-stop): it never waits, not even when in doubt. */
export function onlyStops(intents: readonly (string | null)[]): boolean {
  return intents.length > 0 && intents.every((i) => i !== null && STOP.test(i));
}

/**
 * True when any clause's intent (one per clause) other than a stop matches a pattern. A bare stop is never
 * held; a motion with a stop in the same sentence ("drive forward two meters then stop") is, since it moves.
 */
export function needsConfirmation(intents: readonly (string | null)[], patterns: readonly string[]): boolean {
  const named = intents.filter((i): i is string => i !== null && !STOP.test(i));
  return named.some((intent) =>
    patterns.some((p) => (p.endsWith('*') ? intent.startsWith(p.slice(0, -1)) : intent === p)),
  );
}

/** A command waiting for its "yes". */
export interface PendingCommand {
  text: string;
  confidence: number;
  sessionId: string;
}

export type Resolution =
  | { kind: 'execute'; command: PendingCommand }
  | { kind: 'cancel'; command: PendingCommand; reason: 'no' | 'timeout' | 'other' }
  | { kind: 'none' };

/**
 * Pending confirmations per site (pure: time comes in as an argument). One per site; a new question replaces
 * the old one. Only an exact "yes" phrase from the same site within the timeout executes; "no", anything else
 * and the timeout cancel.
 */
export class Confirmations {
  private readonly pending = new Map<string, { command: PendingCommand; expiresAt: number }>();

  constructor(private readonly timeoutMs: number) {}

  ask(siteId: string, command: PendingCommand, now: number): number {
    const expiresAt = now + this.timeoutMs;
    this.pending.set(siteId, { command, expiresAt });
    return expiresAt;
  }

  waiting(siteId: string, now: number): boolean {
    const p = this.pending.get(siteId);
    return p !== undefined && now <= p.expiresAt;
  }

  answer(siteId: string, answer: Answer, now: number): Resolution {
    const p = this.pending.get(siteId);
    if (!p) return { kind: 'none' };
    this.pending.delete(siteId);
    if (now > p.expiresAt) return { kind: 'cancel', command: p.command, reason: 'timeout' };
    if (answer === 'yes') return { kind: 'execute', command: p.command };
    return { kind: 'cancel', command: p.command, reason: answer === 'no' ? 'no' : 'other' };
  }

  /** Questions whose time ran out, removed. */
  expire(now: number): { siteId: string; command: PendingCommand }[] {
    const expired: { siteId: string; command: PendingCommand }[] = [];
    for (const [siteId, p] of this.pending) {
      if (now > p.expiresAt) {
        this.pending.delete(siteId);
        expired.push({ siteId, command: p.command });
      }
    }
    return expired;
  }

  clear(): void {
    this.pending.clear();
  }
}

/** The question for a command: the words that will run, and the word in doubt against its rival. */
export function questionFor(text: string, doubt?: Doubt): string {
  if (!doubt || !('word' in doubt)) return `${text}?`;
  return `${text}? ${doubt.word[0]!.toUpperCase()}${doubt.word.slice(1)}, not ${doubt.rival}?`;
}
