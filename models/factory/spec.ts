/**
 * Intent spec (config/intents/*.yaml) → validated definitions with source lines → training examples.
 * Every problem is reported as `file:line: reason`.
 */
import { readFileSync } from 'node:fs';
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type YAMLMap,
  type Node as YamlNode,
} from 'yaml';
import { builtinEntity } from '../../agent/decide/entities/registry.ts';
import type { Example } from './dataset.ts';
import type { Gazetteer } from './features.ts';
import { mulberry32 } from './rng.ts';
import {
  countExpansions,
  enumerate,
  type Node,
  parseTemplate,
  render,
  type SlotSource,
  sampleExpansion,
  slotRefs,
  TemplateError,
} from './template.ts';
import { tokenize } from './text.ts';

export class SpecError extends Error {
  override name = 'SpecError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

export type SlotKind = 'list' | 'open' | 'builtin';

export interface SlotDecl {
  name: string;
  /** `list`, `open` or the builtin type name (`builtin.distance`). */
  type: string;
  kind: SlotKind;
  /** list: canonical value → synonyms. */
  values: Record<string, string[]>;
  /** open: seed phrases. */
  examples: string[];
  line: number;
}

export interface IntentDecl {
  name: string;
  description?: string;
  examples: { text: string; line: number; node: Node }[];
  templates: { text: string; line: number; node: Node }[];
  max: number;
  line: number;
}

export interface Spec {
  file: string;
  slots: Map<string, SlotDecl>;
  intents: IntentDecl[];
}

export const defaultTemplateCap = 300;

export function loadSpec(file: string): Spec {
  return parseSpec(readFileSync(file, 'utf8'), file);
}

export function parseSpec(source: string, file = '<spec>'): Spec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: true });
  const lineOf = (node: unknown): number => {
    const range = (node as YamlNode | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  const fail = (node: unknown, reason: string): never => {
    throw new SpecError(file, lineOf(node), reason);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new SpecError(file, e.linePos?.[0]?.line ?? 1, `YAML: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'a spec is a mapping with "slots" and "intents"');
  const entries = (map: YAMLMap, what: string, allowed?: string[]) =>
    map.items.map((pair) => {
      const key = isScalar(pair.key)
        ? String(pair.key.value)
        : fail(pair.key, `${what}: keys must be plain names`);
      if (allowed && !allowed.includes(key)) {
        fail(pair.key, `${what}: unknown key "${key}" (expected ${allowed.join(', ')})`);
      }
      return { key, keyNode: pair.key, value: pair.value as YamlNode | null };
    });
  const strings = (node: YamlNode | null, what: string): { text: string; node: YamlNode }[] => {
    if (isScalar(node)) return [{ text: String(node.value), node }];
    if (!isSeq(node)) return fail(node, `${what} must be a list of strings`);
    return node.items.map((item) =>
      isScalar(item) && item.value !== null
        ? { text: String(item.value), node: item as YamlNode }
        : fail(item ?? node, `${what} must be a list of strings`),
    );
  };

  const top = Object.fromEntries(entries(root, 'spec', ['slots', 'intents']).map((e) => [e.key, e]));
  const slots = new Map<string, SlotDecl>();
  const slotsNode = top.slots?.value ?? null;
  if (slotsNode !== null) {
    if (!isMap(slotsNode)) fail(slotsNode, 'slots must be a mapping of slot name → definition');
    for (const { key, keyNode, value } of entries(slotsNode as YAMLMap, 'slots')) {
      const line = lineOf(keyNode);
      if (!isMap(value)) return fail(value ?? keyNode, `slot "${key}": needs a mapping with "type"`);
      const fields = Object.fromEntries(
        entries(value, `slot "${key}"`, ['type', 'values', 'examples', 'description']).map((e) => [e.key, e]),
      );
      const typeNode = fields.type?.value;
      const type = isScalar(typeNode) ? String(typeNode.value) : fail(value, `slot "${key}": missing "type"`);
      const decl: SlotDecl = { name: key, type, kind: 'open', values: {}, examples: [], line };
      if (type === 'list') {
        decl.kind = 'list';
        const values = fields.values?.value;
        if (!isMap(values) || values.items.length === 0) {
          fail(values ?? value, `slot "${key}": a list slot needs "values" (canonical value → synonyms)`);
        }
        for (const v of entries(values as YAMLMap, `slot "${key}" values`)) {
          decl.values[v.key] =
            v.value === null
              ? [v.key.replace(/_/g, ' ')]
              : strings(v.value, `slot "${key}" value "${v.key}"`).map((s) => s.text);
        }
      } else if (type === 'open') {
        if (fields.examples)
          decl.examples = strings(fields.examples.value, `slot "${key}" examples`).map((s) => s.text);
      } else if (type.startsWith('builtin.')) {
        decl.kind = 'builtin';
        if (!builtinEntity(type)) fail(typeNode, `slot "${key}": unknown builtin type "${type}"`);
      } else {
        fail(typeNode, `slot "${key}": type must be list, open or builtin.<name>, not "${type}"`);
      }
      slots.set(key, decl);
    }
  }

  const intentsNode = top.intents?.value ?? null;
  if (!isMap(intentsNode) || intentsNode.items.length === 0) {
    return fail(intentsNode ?? root, 'spec needs "intents": a mapping of intent name → examples/templates');
  }
  const intents: IntentDecl[] = [];
  for (const { key, keyNode, value } of entries(intentsNode, 'intents')) {
    const intent: IntentDecl = {
      name: key,
      examples: [],
      templates: [],
      max: defaultTemplateCap,
      line: lineOf(keyNode),
    };
    if (!isMap(value))
      return fail(value ?? keyNode, `intent "${key}": needs a mapping with "examples" or "templates"`);
    for (const field of entries(value, `intent "${key}"`, ['description', 'examples', 'templates', 'max'])) {
      if (field.key === 'description')
        intent.description = String((field.value as { value?: unknown })?.value ?? '');
      else if (field.key === 'max') {
        const max = isScalar(field.value) ? Number(field.value.value) : Number.NaN;
        if (!Number.isInteger(max) || max < 1)
          fail(field.value ?? field.keyNode, `intent "${key}": max must be a positive integer`);
        intent.max = max;
      } else {
        for (const s of strings(field.value, `intent "${key}" ${field.key}`)) {
          let node: Node;
          try {
            node = parseTemplate(s.text);
          } catch (error) {
            if (!(error instanceof TemplateError)) throw error;
            return fail(s.node, `intent "${key}": ${error.message}`);
          }
          for (const ref of slotRefs(node)) {
            if (!slots.has(ref.type))
              fail(s.node, `intent "${key}": unknown slot "${ref.type}" (declare it under slots)`);
          }
          const entry = { text: s.text, line: lineOf(s.node), node };
          if (field.key === 'examples') intent.examples.push(entry);
          else intent.templates.push(entry);
        }
      }
    }
    if (intent.examples.length + intent.templates.length === 0) {
      fail(keyNode, `intent "${key}": needs at least one example or template`);
    }
    intents.push(intent);
  }
  for (const intent of intents) {
    for (const t of intent.templates) {
      for (const ref of slotRefs(t.node)) {
        const decl = slots.get(ref.type)!;
        if (decl.kind === 'open' && decl.examples.length === 0) {
          throw new SpecError(
            file,
            t.line,
            `slot "${ref.type}" is open and has no examples to expand {${ref.type}}`,
          );
        }
      }
    }
  }
  return { file, slots, intents };
}

const builtinSamplesPerCount = 12;

function slotSources(spec: Spec): (type: string) => SlotSource {
  const cache = new Map<string, SlotSource>();
  return (type) => {
    let source = cache.get(type);
    if (source) return source;
    const decl = spec.slots.get(type)!;
    if (decl.kind === 'builtin') {
      const entity = builtinEntity(decl.type)!;
      const fixed = mulberry32(fnvSeed(type));
      const forms = Array.from({ length: builtinSamplesPerCount }, () => entity.sample(fixed));
      source = { count: forms.length, at: (i) => forms[i]!, sample: (rng) => entity.sample(rng) };
    } else {
      const forms = decl.kind === 'list' ? Object.values(decl.values).flat() : decl.examples;
      source = {
        count: forms.length,
        at: (i) => forms[i]!,
        sample: (rng) => forms[Math.floor(rng() * forms.length)]!,
      };
    }
    cache.set(type, source);
    return source;
  };
}

function fnvSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Training sentences of a spec: every example, plus templates enumerated or (over `max`) sampled with the seed. */
export function expandSpec(spec: Spec, seed = 1): Example[] {
  const sources = slotSources(spec);
  const out: Example[] = [];
  for (const intent of spec.intents) {
    const rng = mulberry32(seed ^ fnvSeed(intent.name));
    const seen = new Set<string>();
    const push = (pieces: Parameters<typeof render>[0], written = false) => {
      const { text, spans } = render(pieces);
      if (text === '' || seen.has(text)) return false;
      seen.add(text);
      out.push({ text, intent: intent.name, spans, ...(written ? { written: true as const } : {}) });
      return true;
    };
    const pushWritten = (pieces: Parameters<typeof render>[0]) => push(pieces, true);
    for (const e of intent.examples) {
      if (countExpansions(e.node, sources) <= 32)
        for (const pieces of enumerate(e.node, sources)) pushWritten(pieces);
      else for (let i = 0; i < 32; i++) pushWritten(sampleExpansion(e.node, sources, rng));
    }
    const total = intent.templates.reduce((n, t) => n + countExpansions(t.node, sources), 0);
    if (total <= intent.max) {
      for (const t of intent.templates) for (const pieces of enumerate(t.node, sources)) push(pieces);
    } else if (intent.templates.length > 0) {
      const weights = intent.templates.map((t) => Math.sqrt(countExpansions(t.node, sources)));
      const sum = weights.reduce((a, b) => a + b, 0);
      let added = 0;
      for (let attempt = 0; added < intent.max && attempt < intent.max * 8; attempt++) {
        let r = rng() * sum;
        let k = 0;
        while (k < weights.length - 1 && r >= weights[k]!) r -= weights[k++]!;
        if (push(sampleExpansion(intent.templates[k]!.node, sources, rng))) added++;
      }
    }
  }
  return out;
}

/** Gazetteer of list slots: normalised synonym phrases per slot declaration. */
export function specGazetteer(spec: Spec): Gazetteer {
  const lists = [...spec.slots.values()].filter((s) => s.kind === 'list');
  return {
    names: lists.map((s) => s.name),
    phrases: lists.map((s) =>
      [...new Set(Object.values(s.values).flat())].map((p) =>
        tokenize(p)
          .map((t) => t.norm)
          .join(' '),
      ),
    ),
  };
}

/** Slot name as reported → declaration (type) name, from every reference in the spec. */
export function slotNameTypes(spec: Spec): Record<string, string> {
  const names: Record<string, string> = {};
  for (const intent of spec.intents) {
    for (const t of [...intent.examples, ...intent.templates]) {
      for (const ref of slotRefs(t.node)) names[ref.name] = ref.type;
    }
  }
  return names;
}
