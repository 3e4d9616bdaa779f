import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { builtinEntity } from '../../../agent/decide/entities/registry.ts';
import { mulberry32 } from '../rng.ts';
import type { VoiceGrammarSpec } from './jsgf.ts';

/**
 * Intent spec YAML → the grammar's intermediate form. Only reads the fields a grammar needs; validation with
 * file:line errors is the model factory's spec parser's job (it runs on the same files when the NLU model
 * is built). Replace this reader with that parser's output once both live in one build.
 */
interface RawSlot {
  type?: string;
  values?: Record<string, unknown>;
  examples?: unknown[];
}
interface RawIntent {
  examples?: unknown[];
  templates?: unknown[];
}

export function specFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

export function voiceSpecFromDocuments(
  docs: { file: string; text: string }[],
  builtinSamples = 400,
): VoiceGrammarSpec {
  const spec: VoiceGrammarSpec = { slots: {}, intents: {}, numericSlots: [] };
  const rng = mulberry32(7);
  for (const { file, text } of docs) {
    const doc = (parse(text) ?? {}) as {
      slots?: Record<string, RawSlot>;
      intents?: Record<string, RawIntent | unknown[]>;
    };
    for (const [name, slot] of Object.entries(doc.slots ?? {})) {
      const type = slot?.type ?? 'list';
      const phrases: string[] = [];
      if (type === 'list') {
        for (const [canonical, synonyms] of Object.entries(slot.values ?? {})) {
          const list = Array.isArray(synonyms)
            ? synonyms.map(String)
            : synonyms == null
              ? [canonical]
              : [String(synonyms)];
          phrases.push(...list);
        }
      } else if (type === 'open') {
        phrases.push(...(slot.examples ?? []).map(String));
      } else if (type.startsWith('builtin.')) {
        const entity = builtinEntity(type);
        if (!entity) throw new Error(`${file}: slot ${name}: unknown builtin type ${type}`);
        for (let i = 0; i < builtinSamples; i++) phrases.push(entity.sample(rng));
        spec.numericSlots!.push(name);
      } else {
        throw new Error(`${file}: slot ${name}: unknown slot type ${type}`);
      }
      spec.slots[name] = [...new Set(phrases)];
    }
    for (const [name, intent] of Object.entries(doc.intents ?? {})) {
      const sentences = Array.isArray(intent)
        ? intent
        : [...(intent?.examples ?? []), ...(intent?.templates ?? [])];
      spec.intents[name] = [...(spec.intents[name] ?? []), ...sentences.map(String)];
    }
  }
  // `{slot:name}` refers to slot types; builtin types may be referenced without a slots entry.
  for (const sentences of Object.values(spec.intents)) {
    for (const s of sentences) {
      for (const m of s.matchAll(/\{([\w.-]+)(?::[\w.-]+)?\}|\]\(([\w.-]+)\)/g)) {
        const type = (m[1] ?? m[2])!;
        if (spec.slots[type] || !type.startsWith('builtin.')) continue;
        const entity = builtinEntity(type);
        if (!entity) continue;
        spec.slots[type] = [...new Set(Array.from({ length: builtinSamples }, () => entity.sample(rng)))];
        spec.numericSlots!.push(type);
      }
    }
  }
  return spec;
}

export function readVoiceSpec(path: string): VoiceGrammarSpec {
  return voiceSpecFromDocuments(specFiles(path).map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}
