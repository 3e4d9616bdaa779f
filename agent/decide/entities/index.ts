// Importing this module makes every builtin entity available; the registry is seeded with them.
export { defaultBuiltins } from './builtins.ts';
export { builtinEntity, builtinNames, registerBuiltin } from './registry.ts';
export type { BuiltinEntity } from './types.ts';
