/** `sling voice enrol` and `sling voice prompts`: reading the user's recordings, printing what happened. */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError } from '../../../config/errors.ts';
import { loadConfig } from '../../../config/load.ts';
import type { SlingConfig } from '../../../config/schema.ts';
import { fromProjectRoot, projectRoot } from '../../../paths.ts';
import { CorpusError, parseManifest, type Recording, recordingsInDir } from './corpus.ts';
import { enrolmentPrompts } from './prompts.ts';

/** Where `sling voice enrol` writes when neither `--out` nor `voice.acousticModel` says. */
export const DEFAULT_ENROLMENT_DIR = '.sling/voice/acoustic';
/**
 * Measured (models/README.md, "How many recordings"): per speaker, 100 gained about twice what 30 did and
 * 160 little more; fewer than 30 move the model less.
 */
const ADVISED_RECORDINGS = 30;
/** What `sling voice prompts` gives by default: the measured knee. */
const DEFAULT_PROMPTS = 100;

export interface EnrolCliOptions {
  out?: string;
  config?: string;
  base?: string;
}

export function configOrError(file: string | undefined, err: Writable): SlingConfig | undefined {
  try {
    return loadConfig(file).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err.write(`${error.message}\n`);
    return undefined;
  }
}

/** A directory of `x.wav` + `x.txt` pairs, or a manifest file (`<wav><TAB><text>` lines). */
export function readRecordings(input: string): Recording[] {
  let isDir: boolean;
  try {
    isDir = statSync(input).isDirectory();
  } catch (error) {
    throw new CorpusError(`cannot read ${input}: ${(error as Error).message}`);
  }
  if (isDir) return recordingsInDir(input, readdirSync(input), (f) => readFileSync(f, 'utf8'));
  return parseManifest(readFileSync(input, 'utf8'), input);
}

/** Exit code: 0 enrolled, 1 bad input or missing tools. */
export async function enrolFromCli(
  input: string,
  o: EnrolCliOptions,
  out: Writable,
  err: Writable,
): Promise<number> {
  const config = configOrError(o.config, err);
  if (!config) return 1;
  const target = o.out ?? config.voice.acousticModel ?? DEFAULT_ENROLMENT_DIR;
  let recordings: Recording[];
  try {
    recordings = readRecordings(input);
  } catch (error) {
    if (!(error instanceof CorpusError)) throw error;
    err.write(`${error.message}\n`);
    return 1;
  }
  if (recordings.length < ADVISED_RECORDINGS)
    err.write(
      `note: ${recordings.length} recordings; ${ADVISED_RECORDINGS} adapt the model measurably, ${DEFAULT_PROMPTS} per speaker about twice as much\n`,
    );
  const { enrol } = await import('./adapt.ts');
  try {
    const result = await enrol({
      recordings,
      out: fromProjectRoot(target),
      ...(o.base ? { baseModel: o.base } : {}),
      denoise: config.voice.denoise,
    });
    out.write(
      `enrolled: ${result.aligned} of ${result.recordings} recordings (${result.seconds} s) adapted the acoustic model (MAP) → ${result.dir}\n`,
    );
    if (result.notAligned.length > 0)
      out.write(`not used (transcript did not match the audio?): ${result.notAligned.join(', ')}\n`);
    if (result.guessedWords.length > 0)
      out.write(`pronounced by espeak-ng rules (not in CMUdict): ${result.guessedWords.join(', ')}\n`);
    if (
      config.voice.acousticModel === undefined ||
      fromProjectRoot(config.voice.acousticModel) !== result.dir
    )
      out.write(
        `to use it, set in config/sling.yaml:\n  voice:\n    acousticModel: ${relativeToRoot(result.dir)}\n`,
      );
    return 0;
  } catch (error) {
    err.write(`enrollment failed: ${(error as Error).message}\n`);
    return 1;
  }
}

const relativeToRoot = (dir: string) => {
  const rel = relative(projectRoot, dir);
  return rel.startsWith('..') ? dir : rel;
};

export interface PromptsCliOptions {
  count?: string;
  seed?: string;
  grammar?: string;
  config?: string;
  /** Write `NN.txt` files here, for recording `NN.wav` beside each. */
  dir?: string;
}

/** Prints (or writes) sentences to record for enrollment. Exit code 0, or 1 on bad input. */
export function promptsFromCli(o: PromptsCliOptions, out: Writable, err: Writable): number {
  const config = configOrError(o.config, err);
  if (!config) return 1;
  const count = Number(o.count ?? DEFAULT_PROMPTS);
  const seed = Number(o.seed ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    err.write(`--count must be a whole number from 1 to 1000, got ${o.count}\n`);
    return 1;
  }
  if (!Number.isInteger(seed) || seed < 1) {
    err.write(`--seed must be a positive whole number, got ${o.seed}\n`);
    return 1;
  }
  const grammar = join(fromProjectRoot(o.grammar ?? config.voice.grammar), 'grammar.jsgf');
  let jsgf: string;
  try {
    jsgf = readFileSync(grammar, 'utf8');
  } catch (error) {
    err.write(`cannot read the voice grammar ${grammar}: ${(error as Error).message}\n`);
    return 1;
  }
  const prompts = enrolmentPrompts(jsgf, { count, seed });
  const dir = o.dir;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const width = String(prompts.length).length;
    for (const [i, p] of prompts.entries())
      writeFileSync(join(dir, `${String(i + 1).padStart(width, '0')}.txt`), `${p}\n`);
    out.write(`wrote ${prompts.length} prompts to ${dir}: record each NN.txt as NN.wav beside it\n`);
  } else out.write(`${prompts.join('\n')}\n`);
  return 0;
}
