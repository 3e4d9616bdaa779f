import { existsSync, readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { defaultConfigFile } from '../paths.ts';
import { type EnvBinding, envBindings, parseEnvValue } from './env.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { configSchema, type SlingConfig } from './schema.ts';

export interface ConfigSource {
  /** Name used in error messages (usually the file path). */
  name: string;
  text: string;
}

interface ParsedSource {
  name: string;
  value: unknown;
  locate: (path: PropertyKey[]) => { line: number; column: number } | undefined;
}

function parseSource(source: ConfigSource): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return { source: source.name, path: '', line: pos.line, column: pos.col, message: error.message };
      }),
    );
  }
  const locate = (path: PropertyKey[]) => {
    // Walk down as far as the document goes, so an unknown or missing key points at its parent.
    let node: unknown = doc.contents;
    let offset: number | undefined = (doc.contents as Node | null)?.range?.[0];
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
        if (!pair) break;
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        offset = (node as Node | undefined)?.range?.[0] ?? offset;
      } else {
        break;
      }
    }
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  return { name: source.name, value: doc.toJS() ?? {}, locate };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Where a validation issue came from: the env variable that set that path, else the file. */
function issueFor(
  issuePath: PropertyKey[],
  message: string,
  file: ParsedSource,
  fromEnv: Map<string, EnvBinding>,
): ConfigIssue {
  const path = issuePath.map(String).join('.');
  for (const [joined, binding] of fromEnv) {
    if (path === joined || path.startsWith(`${joined}.`)) {
      return { source: `env:${binding.name}`, path, message };
    }
  }
  return { source: file.name, path, message, ...file.locate(issuePath) };
}

function describeZodIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string }[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key], message: 'unknown key' }));
  }
  return [{ path: issue.path, message: issue.message }];
}

/**
 * Validates a config that is already an object (the fleet merges layers as objects; re-serialising them for
 * the YAML parser would cost more than the validation). Issues carry `source` and the key path.
 */
export function validateConfig(value: unknown, source: string): SlingConfig {
  const result = configSchema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues
        .flatMap(describeZodIssue)
        .map((i) => ({ source, path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return result.data;
}

/**
 * Validates a config document plus environment overrides. Pure: no file or process access,
 * so tests and `sling config check` share it with the runtime.
 */
export function resolveConfig(
  source: ConfigSource,
  env: Record<string, string | undefined> = {},
): SlingConfig {
  const file = parseSource(source);
  if (typeof file.value !== 'object' || file.value === null || Array.isArray(file.value)) {
    throw new ConfigError([
      { source: file.name, path: '', message: 'the document must be a mapping of sections' },
    ]);
  }
  const merged = structuredClone(file.value) as Record<string, unknown>;
  const fromEnv = new Map<string, EnvBinding>();
  for (const binding of envBindings(configSchema)) {
    const raw = env[binding.name];
    if (raw === undefined) continue;
    setPath(merged, binding.path, parseEnvValue(raw, binding.schema));
    fromEnv.set(binding.path.join('.'), binding);
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.flatMap(describeZodIssue).map((i) => issueFor(i.path, i.message, file, fromEnv)),
    );
  }
  return result.data;
}

/** Reads a config file (the default one when none is named; a missing default means built-in defaults). */
export function loadConfig(
  file?: string,
  env: Record<string, string | undefined> = process.env,
): { config: SlingConfig; file: string | undefined } {
  const path = file ?? (existsSync(defaultConfigFile) ? defaultConfigFile : undefined);
  if (path === undefined)
    return { config: resolveConfig({ name: '(defaults)', text: '{}' }, env), file: undefined };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([{ source: path, path: '', message: `cannot read: ${(error as Error).message}` }]);
  }
  return { config: resolveConfig({ name: path, text }, env), file: path };
}
