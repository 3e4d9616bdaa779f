import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { builtinEntity } from '../../../agent/decide/entities/registry.ts';
import { mulberry32 } from '../rng.ts';
import { loadSpec, type Spec } from '../spec.ts';
import type { VoiceGrammarSpec } from './jsgf.ts';

/**
 * Intent spec → the grammar's intermediate form. The spec is read and validated by the model factory's own
 * parser (`models/factory/spec.ts`: file:line errors, unknown slots, bad templates), so the grammar and the
 * NLU model are built from the same checked definitions.
 */
export function specFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

export function voiceSpecFromSpecs(specs: Spec[], builtinSamples = 400): VoiceGrammarSpec {
  const spec: VoiceGrammarSpec = { slots: {}, intents: {}, numericSlots: [], listSlots: {} };
  // Builtin slots are represented by seeded samples (numbers fold into one <number> rule later).
  const rng = mulberry32(7);
  for (const parsed of specs) {
    for (const [name, slot] of parsed.slots) {
      const phrases: string[] = [];
      if (slot.kind === 'list') {
        phrases.push(...Object.values(slot.values).flat());
        spec.listSlots![name] = slot.values;
      } else if (slot.kind === 'open') phrases.push(...slot.examples);
      else {
        const entity = builtinEntity(slot.type)!; // the parser checked it exists
        for (let i = 0; i < builtinSamples; i++) phrases.push(entity.sample(rng));
        spec.numericSlots!.push(name);
      }
      spec.slots[name] = [...new Set(phrases)];
    }
    for (const intent of parsed.intents) {
      const sentences = [...intent.examples, ...intent.templates].map((s) => s.text);
      spec.intents[intent.name] = [...(spec.intents[intent.name] ?? []), ...sentences];
    }
  }
  return spec;
}

/** A spec file or a directory of them → the grammar's input; throws SpecError (file:line: reason). */
export function readVoiceSpec(path: string): VoiceGrammarSpec {
  return voiceSpecFromSpecs(specFiles(path).map((file) => loadSpec(file)));
}
