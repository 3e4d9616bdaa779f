/** `sling voice check`: which sentences the voice grammar can say, and what is missing from the others. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { readCmudict } from '../../../models/factory/voice/dictionary.ts';
import { spokenWords } from '../../../models/factory/voice/jsgf.ts';
import { parseJsgfRules } from '../../../models/factory/voice/ngram.ts';
import { fromProjectRoot } from '../../paths.ts';
import { coverageLine, GrammarCoverage } from './coverage.ts';
import { configOrError } from './enrol/cli.ts';
import { readPronunciations } from './pocketsphinx.ts';

export interface CheckCliOptions {
  file?: string;
  grammar?: string;
  config?: string;
  json?: boolean;
}

/** Exit code 0 when every sentence can be said, 1 when one cannot or the input is unusable. */
export function checkFromCli(sentences: string[], o: CheckCliOptions, out: Writable, err: Writable): number {
  const config = configOrError(o.config, err);
  if (!config) return 1;
  const texts = [...sentences];
  if (o.file) {
    try {
      const lines = readFileSync(o.file, 'utf8').split('\n');
      texts.push(...lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
    } catch (error) {
      err.write(`cannot read ${o.file}: ${(error as Error).message}\n`);
      return 1;
    }
  }
  if (texts.length === 0) {
    err.write('give sentences to check, or --file with one per line\n');
    return 1;
  }
  const dir = fromProjectRoot(o.grammar ?? config.voice.grammar);
  let check: GrammarCoverage;
  try {
    check = grammarCoverage(dir, texts);
  } catch (error) {
    err.write(`cannot read the voice grammar in ${dir}: ${(error as Error).message} (npm run build:voice)\n`);
    return 1;
  }
  let missing = 0;
  for (const text of texts) {
    const coverage = check.of(text);
    if (!coverage.sayable) missing++;
    out.write(`${o.json ? JSON.stringify(coverage) : coverageLine(coverage)}\n`);
  }
  if (!o.json) {
    out.write(
      missing === 0
        ? `all ${texts.length} can be said\n`
        : `${texts.length - missing} of ${texts.length} can be said; the voice grammar is built from the intent spec: add templates for the others, then npm run build:voice\n`,
    );
  }
  return missing === 0 ? 0 : 1;
}

/** A voice grammar directory's coverage check, knowing the CMUdict sounds of the words `texts` use beyond it. */
export function grammarCoverage(dir: string, texts: string[]): GrammarCoverage {
  const grammar = parseJsgfRules(readFileSync(join(dir, 'grammar.jsgf'), 'utf8'));
  const pronunciations = readPronunciations(join(dir, 'grammar.dict'));
  return new GrammarCoverage(grammar, pronunciations, cmudictFor(texts, pronunciations));
}

/** CMUdict pronunciations of the sentences' words the grammar lacks ("centimetres" sounds as its "centimeters"). */
function cmudictFor(texts: string[], pronunciations: Map<string, string[]>): Map<string, string[]> {
  const unknown = new Set(texts.flatMap(spokenWords).filter((w) => !pronunciations.has(w)));
  if (unknown.size === 0) return new Map();
  try {
    return readCmudict(undefined, unknown);
  } catch {
    return new Map(); // no CMUdict (pocketsphinx-en-us missing): spellings only
  }
}
