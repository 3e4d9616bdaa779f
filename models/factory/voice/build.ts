import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { contrastTable } from './contrasts.ts';
import { buildDictionary, phoneLoop } from './dictionary.ts';
import { buildJsgf, type VoiceGrammarSpec } from './jsgf.ts';
import { inlinedSize, languageModel } from './ngram.ts';

/** Inlined grammar size (word arcs) up to which the decoder searches the JSGF itself. */
export const JSGF_LIMIT = 3000;

import { readVoiceSpec } from './spec.ts';

/**
 * Writes the speech files of a model directory, `<model>/voice/`: grammar.jsgf (every command sentence),
 * grammar.lm (trigram model of the same sentences, what the decoder uses) + grammar.dict (pronunciations),
 * loop.jsgf + loop.dict (phone loop for rejection) and voice.json (what was built from what).
 * Run: `npx tsx models/factory/voice/build.ts <spec dir or file> <model dir>`.
 */
export const VOICE_FILES = {
  grammar: 'grammar.jsgf',
  languageModel: 'grammar.lm',
  dictionary: 'grammar.dict',
  loopGrammar: 'loop.jsgf',
  loopDictionary: 'loop.dict',
  manifest: 'voice.json',
} as const;

export interface VoiceBuild {
  dir: string;
  words: number;
  guessed: string[];
  intents: number;
  decoder: 'jsgf' | 'lm';
}

export async function buildVoiceModel(
  spec: VoiceGrammarSpec,
  modelDir: string,
  source = 'spec',
): Promise<VoiceBuild> {
  const dir = join(modelDir, 'voice');
  mkdirSync(dir, { recursive: true });
  const grammar = buildJsgf(spec);
  const dictionary = await buildDictionary(grammar.words);
  const loop = phoneLoop();
  // Small grammars decode best as the grammar itself; large ones (the default world inlines to ~60k
  // states: 230 MB and seconds to load per decode) use the trigram model of the same sentences.
  const size = inlinedSize(grammar.jsgf);
  const decoder = size <= JSGF_LIMIT ? 'jsgf' : 'lm';
  writeFileSync(join(dir, VOICE_FILES.grammar), grammar.jsgf);
  writeFileSync(
    join(dir, VOICE_FILES.languageModel),
    languageModel(grammar.jsgf, grammar.words, grammar.connectives),
  );
  writeFileSync(join(dir, VOICE_FILES.dictionary), dictionary.text);
  writeFileSync(join(dir, VOICE_FILES.loopGrammar), loop.jsgf);
  writeFileSync(join(dir, VOICE_FILES.loopDictionary), loop.dictionary);
  const manifest = {
    kind: 'sling-voice-grammar',
    version: 1,
    source,
    recognizer: 'pocketsphinx',
    decoder,
    grammarSize: size,
    acousticModel: 'pocketsphinx-en-us (Debian)',
    intents: Object.keys(spec.intents).length,
    words: grammar.words.length,
    guessedPronunciations: dictionary.guessed,
    files: VOICE_FILES,
    // Words whose confusion changes what a command does: the recogniser refuses close calls between them.
    contrasts: contrastTable(spec, grammar.words),
  };
  writeFileSync(join(dir, VOICE_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return {
    dir,
    words: grammar.words.length,
    guessed: dictionary.guessed,
    intents: manifest.intents,
    decoder,
  };
}

if (import.meta.url === `file://${resolve(process.argv[1] ?? '')}`) {
  const [specPath, modelDir] = process.argv.slice(2);
  if (!specPath || !modelDir) {
    process.stderr.write('usage: tsx models/factory/voice/build.ts <spec dir|file> <model dir>\n');
    process.exit(2);
  }
  buildVoiceModel(readVoiceSpec(specPath), modelDir, specPath).then(
    (b) =>
      process.stdout.write(
        `wrote ${b.dir}: ${b.intents} intents, ${b.words} words, guessed: ${b.guessed.join(' ') || 'none'}\n`,
      ),
    (error: Error) => {
      process.stderr.write(`voice grammar: ${error.message}\n`);
      process.exit(1);
    },
  );
}
