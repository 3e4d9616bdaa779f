/** The understanding stage: `loadParser(dir)` → a Parser (see types.ts). */
export { ModelLoadError, readModelDir } from './model-dir.ts';
export { loadParser, OnnxParser, type ParserOptions, type RawOutput } from './parser.ts';
export type { IntentScore, ParseResult, Parser, SlotMatch } from './types.ts';
