import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { builtinEntity } from '../../../agent/decide/entities/registry.ts';
import { mulberry32 } from '../rng.ts';
import { loadSpec, type Spec } from '../spec.ts';
import { FILLERS, PREFIXES } from '../variants.ts';
import { NEUTRAL_ENDINGS } from './clauses.ts';
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
  const spec: VoiceGrammarSpec = { slots: {}, intents: {}, numericSlots: [], listSlots: {}, slotLeads: {} };
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
        if (entity.leads?.length) spec.slotLeads![name] = entity.leads;
        spec.numericSlots!.push(name);
      }
      spec.slots[name] = [...new Set(phrases)];
    }
    for (const intent of parsed.intents) {
      const sentences = [...intent.examples, ...intent.templates].map((s) => s.text);
      spec.intents[intent.name] = [...(spec.intents[intent.name] ?? []), ...sentences];
    }
  }
  spec.leads = commandLeads(Object.values(spec.intents).flat());
  spec.tails = COMMAND_TAILS;
  return spec;
}

/** Closing words: the recogniser's neutral endings, so a finished command still closes early ("thank" is half of one). */
const COMMAND_TAILS = NEUTRAL_ENDINGS.filter((w) => w !== 'thank');

/**
 * Words that may open any command: the words of the spec's own opening frame groups ("[please|could you|hey
 * robot] drive ..."), which the author wrote for some intents but which speakers say before all of them. An
 * opening group is a frame group when it holds a frame or filler the NLU model is trained to ignore
 * (variants.ts); "[the] lights on" or "[it's] cold" open a sentence, not a frame. Those NLU frames are not
 * leads themselves: each lead is a rival at the start of every command ("well take" for "rotate").
 */
export function commandLeads(sentences: string[]): string[] {
  const known = new Set([...PREFIXES, ...FILLERS]);
  const leads = new Set<string>();
  for (const sentence of sentences) {
    // a leading optional group of plain words, not an example span "[text](slot)"
    const opening = /^\[([^[\]{}()]*)\](?!\()/.exec(sentence.trim());
    const group = (opening?.[1] ?? '').split('|').map((w) => w.trim());
    if (group.some((w) => known.has(w))) for (const lead of group) if (lead) leads.add(lead);
  }
  return [...leads];
}

/** A spec file or a directory of them → the grammar's input; throws SpecError (file:line: reason). */
export function readVoiceSpec(path: string): VoiceGrammarSpec {
  return voiceSpecFromSpecs(specFiles(path).map((file) => loadSpec(file)));
}
