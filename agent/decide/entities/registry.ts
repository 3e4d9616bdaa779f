import { defaultBuiltins } from './builtins.ts';
import type { BuiltinEntity } from './types.ts';

// Seeded with Sling's builtins so any importer (trainer, runtime) sees them without a setup call.
const registry = new Map<string, BuiltinEntity>(defaultBuiltins.map((entity) => [entity.name, entity]));

export function registerBuiltin(entity: BuiltinEntity): void {
  registry.set(entity.name, entity);
}

export function builtinEntity(name: string): BuiltinEntity | undefined {
  return registry.get(name);
}

export function builtinNames(): string[] {
  return [...registry.keys()].sort();
}
