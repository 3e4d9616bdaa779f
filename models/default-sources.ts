import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fromProjectRoot } from '../agent/paths.ts';
import { expandSpec, loadSpec } from './factory/spec.ts';

export const DEFAULT_SPEC = 'config/intents/default.yaml';
export const DEFAULT_MODEL_DIR = 'models/default';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What the default model is built from: the spec text and the sentences it expands to (seed 1). */
export function defaultModelSources(): { spec: string; specSha256: string; trainingSentencesSha256: string } {
  const file = fromProjectRoot(DEFAULT_SPEC);
  const sentences = expandSpec(loadSpec(file), 1);
  return {
    spec: DEFAULT_SPEC,
    specSha256: sha256(readFileSync(file, 'utf8')),
    trainingSentencesSha256: sha256(JSON.stringify(sentences)),
  };
}
