import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDictionary } from '../../../models/factory/voice/dictionary.ts';
import {
  type Answer,
  Confirmations,
  type ConfirmConfig,
  classifyAnswer,
  needsConfirmation,
  onlyStops,
  type PendingCommand,
  questionFor,
} from './confirm.ts';
import { PocketSphinxRecognizer } from './pocketsphinx.ts';
import type { Doubt, SpeechRecognizer } from './recognizer.ts';
import type { Utterance } from './segmenter.ts';
import { type WakeConfig, type WakeDetection, WakeGate } from './wake.ts';
import { KeyphraseSpotter } from './wake-spotter.ts';

const MAX_ANSWER_SPEECH = 16000 * 1.2;
const ANSWER_MIN_CONFIDENCE = 0.6;

/** What to do with one utterance from a site. */
export type DialogueRoute =
  /** Asleep and no wake phrase. */
  | { kind: 'ignore' }
  /** The wake phrase alone: the next utterance is the command. */
  | { kind: 'woke'; detection: WakeDetection }
  /**
   * Recognise these samples as a command (after the wake phrase when `wake` is set). `interrupted`: a question
   * was pending and this is not its answer; the held command is cancelled (`cancel`) unless what is heard
   * continues it ("pick it up?" … "and then go home").
   */
  | { kind: 'recognize'; samples: Float32Array; wake?: WakeDetection; interrupted?: PendingCommand }
  /** A confirmed command: run it. */
  | { kind: 'execute'; command: PendingCommand };

export interface VoiceDialogueOptions {
  wake: WakeConfig;
  confirm: ConfirmConfig;
  /** Grammar directory: its phone loop (loop.jsgf, loop.dict) rejects speech that is not a yes/no answer. */
  grammarDir: string;
  minConfidence: number;
  /**
   * The intents a command would run (a preview through the agent's own parser and planner); undefined when
   * the preview could not tell (refused before understanding, e.g. too long): then it is asked back.
   */
  intentsOf?: (text: string) => Promise<(string | null)[] | undefined>;
  /** A pending command was cancelled ("no", another utterance, or the timeout): say so. */
  onCancelled: (siteId: string, command: PendingCommand, reason: 'no' | 'timeout' | 'other') => void;
  /** Replaces the answer recogniser (tests of the routing, or another speech model). */
  answerRecognizer?: SpeechRecognizer;
  now?: () => number;
}

/**
 * The conversation around commands, per site: the wake gate (asleep until the wake phrase) and spoken
 * confirmation of motion commands (the pure rules are in wake.ts and confirm.ts; this wires them to the
 * keyphrase spotter, a yes/no recogniser and timers).
 */
export class VoiceDialogue {
  private readonly gates = new Map<string, WakeGate>();
  private readonly confirmations: Confirmations;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;

  private constructor(
    private readonly options: VoiceDialogueOptions,
    private readonly spotter: KeyphraseSpotter | undefined,
    private readonly answers: SpeechRecognizer | undefined,
    private readonly answerDir: string | undefined,
  ) {
    this.confirmations = new Confirmations(options.confirm.timeoutMs);
    this.now = options.now ?? Date.now;
  }

  static async open(options: VoiceDialogueOptions): Promise<VoiceDialogue> {
    const spotter = options.wake.enabled
      ? await KeyphraseSpotter.open(options.wake, options.grammarDir)
      : undefined;
    let answers = options.answerRecognizer;
    let answerDir: string | undefined;
    if (options.confirm.enabled && !answers) {
      answerDir = mkdtempSync(join(tmpdir(), 'sling-answers-'));
      try {
        answers = await answerRecognizer(options, answerDir);
      } catch (error) {
        await spotter?.close();
        rmSync(answerDir, { recursive: true, force: true });
        const { yes, no } = options.confirm;
        throw new Error(
          `voice.confirm answers ${JSON.stringify([...yes, ...no])}: no pronunciation (${(error as Error).message})`,
        );
      }
    }
    return new VoiceDialogue(options, spotter, answers, answerDir);
  }

  get wakePhrase(): string | undefined {
    return this.spotter ? this.options.wake.phrase : undefined;
  }

  private gate(siteId: string): WakeGate {
    let gate = this.gates.get(siteId);
    if (!gate) {
      gate = new WakeGate(this.options.wake.timeoutMs);
      this.gates.set(siteId, gate);
    }
    return gate;
  }

  /** Whether the next utterance may be something other than a whole command (a wake phrase or an answer). */
  gatesUtterances(siteId: string): boolean {
    const now = this.now();
    if (this.answers && this.confirmations.waiting(siteId, now)) return true;
    return this.spotter !== undefined && !this.gate(siteId).awake(now);
  }

  /** Push-to-talk (`hermes/asr/startListening`) wakes a site without the phrase. */
  wake(siteId: string): void {
    if (this.spotter) this.gate(siteId).wake(this.now());
  }

  async route(siteId: string, utterance: Utterance): Promise<DialogueRoute> {
    if (this.answers && this.confirmations.waiting(siteId, this.now())) {
      const answer = await this.answer(utterance);
      const resolution = this.confirmations.answer(siteId, answer, this.now());
      this.clearTimer(siteId);
      if (resolution.kind === 'execute') return { kind: 'execute', command: resolution.command };
      // Not an answer: the question is dropped and the utterance is heard as a command (the site was
      // listening for a reply, so no wake phrase is needed): "stop" still stops, also when the question ran
      // out while it was being decoded. The caller cancels the held command once it knows what was said.
      if (resolution.kind === 'cancel' && resolution.reason === 'other')
        return { kind: 'recognize', samples: utterance.samples, interrupted: resolution.command };
      if (resolution.kind === 'cancel') {
        this.options.onCancelled(siteId, resolution.command, resolution.reason);
        if (answer === 'other') return { kind: 'recognize', samples: utterance.samples };
        return { kind: 'ignore' };
      }
    }
    if (!this.spotter) return { kind: 'recognize', samples: utterance.samples };
    const gate = this.gate(siteId);
    const asleep = !gate.awake(this.now());
    // Utterance positions are on the stream clock; the samples end where the utterance closed.
    const at = (streamPosition: number) => utterance.samples.length - (utterance.closedAt - streamPosition);
    const detection = asleep
      ? await this.spotter.spot(utterance.samples, at(utterance.speechStart))
      : undefined;
    const speechEnd = at(utterance.speechEnd);
    const route = gate.route(this.now(), detection, speechEnd);
    if (route.kind === 'ignore') return { kind: 'ignore' };
    if (route.kind === 'wake') return { kind: 'woke', detection: detection! };
    return {
      kind: 'recognize',
      samples: utterance.samples.subarray(route.from),
      ...(detection ? { wake: detection } : {}),
    };
  }

  /** A held command that the next utterance interrupted (`DialogueRoute.interrupted`) and did not continue. */
  cancel(siteId: string, command: PendingCommand): void {
    this.options.onCancelled(siteId, command, 'other');
  }

  /** What an utterance answers to a question: a configured yes or no phrase, or anything else. */
  async answer(utterance: Utterance): Promise<Answer> {
    // Answers are short (measured: ≤ 0.93 s of speech); a longer utterance is a sentence, never a "yes".
    if (!this.answers || utterance.speechEnd - utterance.speechStart > MAX_ANSWER_SPEECH) return 'other';
    const heard = await this.answers.recognize(utterance.samples);
    return heard.accepted ? classifyAnswer(heard.text, this.options.confirm) : 'other';
  }

  /**
   * Before a heard command runs: when it needs a spoken "yes", it is held and the question to ask returned.
   * With `doubt` (a command the recogniser refused only for a doubt: too close to its opposite, or heard only
   * before noise suppression) it is always asked back when `askWhenUnsure` allows; undefined then means it must
   * stay refused.
   */
  async hold(
    siteId: string,
    command: PendingCommand,
    doubt?: Doubt,
  ): Promise<{ question: string } | undefined> {
    const c = this.options.confirm;
    if (!c.enabled || !this.answers) return undefined;
    if (doubt) {
      if (!c.askWhenUnsure) return undefined;
    } else {
      if (!this.options.intentsOf) return undefined;
      const intents = await this.options.intentsOf(command.text);
      // Fail closed: a command whose effect is unknown is never run unasked.
      if (intents !== undefined && !needsConfirmation(intents, c.intents)) return undefined;
    }
    this.confirmations.ask(siteId, command, this.now());
    this.clearTimer(siteId);
    const timer = setTimeout(() => {
      this.timers.delete(siteId);
      for (const expired of this.confirmations.expire(this.now())) {
        this.options.onCancelled(expired.siteId, expired.command, 'timeout');
      }
    }, c.timeoutMs + 20);
    timer.unref();
    this.timers.set(siteId, timer);
    return { question: questionFor(command.text, doubt) };
  }

  /** Whether a command only stops (`onlyStops`), judged by the same preview as `hold`; false when unknown. */
  async onlyStops(text: string): Promise<boolean> {
    const intents = await this.options.intentsOf?.(text);
    return intents !== undefined && onlyStops(intents);
  }

  private clearTimer(siteId: string): void {
    clearTimeout(this.timers.get(siteId));
    this.timers.delete(siteId);
  }

  async close(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.confirmations.clear();
    await this.spotter?.close();
    if (this.answerDir) {
      await this.answers?.close();
      rmSync(this.answerDir, { recursive: true, force: true });
    }
  }
}

/**
 * The yes/no recogniser: a grammar of the configured answers, with the same phone-loop rejection as
 * commands, so a sentence that is not an answer is refused instead of forced into "yes".
 */
async function answerRecognizer(options: VoiceDialogueOptions, dir: string): Promise<SpeechRecognizer> {
  const phrases = [...options.confirm.yes, ...options.confirm.no].map((p) =>
    p
      .toLowerCase()
      .replace(/[^a-z' ]/g, ' ')
      .trim()
      .split(/\s+/),
  );
  const vocabulary = [...new Set(phrases.flat())];
  const grammar = join(dir, 'answers.jsgf');
  const dictionary = join(dir, 'answers.dict');
  writeFileSync(
    grammar,
    `#JSGF V1.0;\ngrammar answers;\npublic <answer> = ${phrases.map((p) => `( ${p.join(' ')} )`).join(' | ')};\n`,
  );
  writeFileSync(dictionary, (await buildDictionary(vocabulary)).text);
  return new PocketSphinxRecognizer({
    grammar,
    dictionary,
    loopGrammar: join(options.grammarDir, 'loop.jsgf'),
    loopDictionary: join(options.grammarDir, 'loop.dict'),
    minConfidence: Math.max(options.minConfidence, ANSWER_MIN_CONFIDENCE),
    // Stricter than for commands: a tiny grammar forces any speech into some answer, so the answer must
    // explain the audio nearly as well as the unconstrained phone loop, and cover it. Measured on espeak-ng
    // speech, 3 voices × 3 speeds, clean/20/10 dB (test/bench/wake.ts): answers scored 2.9–14 per frame
    // above the loop with coverage ≥ 0.54; sentences forced into "yes"/"confirm" scored below 1 or covered
    // ≤ 0.5 (one, "play some jazz": 4.1 per frame, coverage 0.50, confidence 0.50: hence the 0.6 floor).
    calibration: { scoreCenter: 2, scoreScale: 1 },
  });
}
