/**
 * Builtin entity types (`builtin.number`, `builtin.distance`, ...) register themselves when
 * `agent/decide/entities/index.ts` is imported; training and parsing need them, so the CLI loads them here.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function loadBuiltinEntities(): Promise<void> {
  const url = new URL('../decide/entities/index.ts', import.meta.url);
  if (existsSync(fileURLToPath(url))) await import(url.href);
}
