import type { BuiltinEntity } from './types.ts';

const registry = new Map<string, BuiltinEntity>();

export function registerBuiltin(entity: BuiltinEntity): void {
  registry.set(entity.name, entity);
}

export function builtinEntity(name: string): BuiltinEntity | undefined {
  return registry.get(name);
}

export function builtinNames(): string[] {
  return [...registry.keys()].sort();
}
