import { z } from 'zod';

/** `voice.wake:` the optional wake word. Off by default: without it every utterance is a command. */
export const wakeSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('only listen for a command after the wake phrase'),
    phrase: z
      .string()
      .regex(/^[A-Za-z' ]+$/, 'letters, apostrophes and spaces only')
      .default('hey sling')
      .describe('spoken phrase that wakes the agent (PocketSphinx keyphrase spotting)'),
    threshold: z
      .number()
      .positive()
      .max(1)
      .default(1e-40)
      .describe('keyphrase spotting threshold: smaller wakes more easily (and falsely)'),
    phoneLoopProbability: z
      .number()
      .positive()
      .max(1)
      .default(1e-10)
      .describe('PocketSphinx -kws_plp: the competing phone loop; smaller wakes more easily'),
    verifyConfidence: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('second opinion on each hit: the phrase grammar against the phone loop'),
    timeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(60000)
      .default(8000)
      .describe('after the wake phrase, how long the next utterance counts as a command'),
  })
  .prefault({});

export type WakeConfig = z.infer<typeof wakeSchema>;

/** One spotted wake phrase inside an utterance (positions in the utterance's 16 kHz samples). */
export interface WakeDetection {
  phrase: string;
  start: number;
  end: number;
  /** PocketSphinx's posterior for the detection (0..1), for logs. */
  probability: number;
  /** The second opinion's confidence (0..1), once verified. */
  confidence?: number;
}

/**
 * Parses `pocketsphinx_continuous -time yes` output for a keyphrase search: segment lines
 * `<phrase> <start s> <end s> <posterior>`. Returns every detection of `phrase`, earliest first.
 */
export function parseKeyphraseOutput(output: string, phrase: string, sampleRate = 16000): WakeDetection[] {
  const detections: WakeDetection[] = [];
  const wanted = phrase.trim().toLowerCase().split(/\s+/).join(' ');
  for (const line of output.split('\n')) {
    const m = /^(.+?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s*$/.exec(line.trim());
    if (!m || m[1]!.toLowerCase() !== wanted) continue;
    detections.push({
      phrase: wanted,
      start: Math.round(Number(m[2]) * sampleRate),
      end: Math.round(Number(m[3]) * sampleRate),
      probability: Number(m[4]),
    });
  }
  return detections.sort((a, b) => a.start - b.start);
}

/**
 * The wake phrase opens the utterance and takes time to say. Measured on espeak-ng speech (3 voices × 2
 * speeds, clean/20/10 dB): true hits start between 100 ms before and 110 ms after the VAD's speech start and
 * last 300–640 ms; loose keyphrase hits inside other speech mostly start later or last under 300 ms.
 */
const OPENS_BEFORE = 16000 * 0.2;
const OPENS_AFTER = 16000 * 0.15;
const MIN_PHRASE = 16000 * 0.3;

/** `speechStart`: where the VAD heard speech begin, in the same samples as the hit. */
export function opensUtterance(hit: WakeDetection, speechStart: number): boolean {
  const offset = hit.start - speechStart;
  return offset >= -OPENS_BEFORE && offset <= OPENS_AFTER && hit.end - hit.start >= MIN_PHRASE;
}

/** Where an utterance goes once the gate has seen it. */
export type WakeRoute =
  /** Asleep and no wake phrase: not for us. */
  | { kind: 'ignore' }
  /** The wake phrase alone: awake until `awakeUntil`, the next utterance is the command. */
  | { kind: 'wake'; awakeUntil: number }
  /** A command: heard while awake, or spoken straight after the wake phrase (`from`: where it starts). */
  | { kind: 'command'; from: number; afterWake: boolean };

/**
 * The wake gate (pure: time and detections come in as arguments). Asleep, only an utterance holding the wake
 * phrase gets through; what follows the phrase in the same utterance, if it is long enough to be speech, is the
 * command, otherwise the next utterance within `timeoutMs` is. One command per wake: then asleep again.
 */
export class WakeGate {
  private awakeUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly timeoutMs: number,
    /** Speech after the phrase that counts as a spoken command (shorter: a breath, the phrase's tail). */
    private readonly minCommandSamples = 16000 * 0.4,
    /**
     * Keyphrase search can report the phrase ending early (once 0.15 s before the end of "sling", whose tail
     * was heard as "halt" when 0.25 s of speech counted as a command), so the command starts a little later;
     * more cut the first word of commands said in one breath (bench:wake: 0.15 s → 2 of 6 exact, 0.05 s → 5).
     */
    private readonly tailSamples = 16000 * 0.05,
  ) {}

  awake(now: number): boolean {
    return now <= this.awakeUntil;
  }

  /** Wakes without the phrase (push-to-talk `startListening`). */
  wake(now: number): void {
    this.awakeUntil = now + this.timeoutMs;
  }

  sleep(): void {
    this.awakeUntil = Number.NEGATIVE_INFINITY;
  }

  /**
   * `detection`: the wake phrase spotted in this utterance, if any (only looked for while asleep);
   * `speechEnd`: where speech ended in the utterance's samples (before its trailing silence).
   */
  route(now: number, detection: WakeDetection | undefined, speechEnd: number): WakeRoute {
    if (this.awake(now)) {
      this.sleep();
      return { kind: 'command', from: 0, afterWake: false };
    }
    if (!detection) return { kind: 'ignore' };
    const from = detection.end + this.tailSamples;
    if (speechEnd - from >= this.minCommandSamples) {
      return { kind: 'command', from, afterWake: true };
    }
    this.wake(now);
    return { kind: 'wake', awakeUntil: this.awakeUntil };
  }
}
