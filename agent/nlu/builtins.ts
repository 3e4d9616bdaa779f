/**
 * Builtin entity types (`builtin.number`, `builtin.distance`, ...) register themselves when
 * `agent/decide/entities/index.ts` is imported; training and parsing need them, so the CLI loads them here.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleExtension } from '../paths.ts';

export async function loadBuiltinEntities(): Promise<void> {
  const url = new URL(`../decide/entities/index${moduleExtension}`, import.meta.url);
  if (existsSync(fileURLToPath(url))) await import(url.href);
}
