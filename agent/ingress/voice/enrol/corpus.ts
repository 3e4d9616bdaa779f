/**
 * An enrollment corpus: recordings and what was said in each, and the sphinxtrain control files made from
 * it (pure: text in, text out; adapt.ts does the files and processes).
 */
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { spokenWords } from '../../../../models/factory/voice/jsgf.ts';

export interface Recording {
  /** The WAV file. */
  wav: string;
  /** What was said, as spoken words ("30 percent" → thirty percent). */
  words: string[];
  /** Where it was listed, for error messages (`manifest.tsv:3`, `dir/cmd01.txt`). */
  source: string;
}

/** A corpus problem: what, where and why. */
export class CorpusError extends Error {}

const transcriptWords = (text: string, source: string): string[] => {
  const words = spokenWords(text.toLowerCase());
  if (words.length === 0) throw new CorpusError(`${source}: empty transcript`);
  return words;
};

/**
 * A manifest: one recording a line, `<wav path><TAB><what was said>`; blank lines and `#` comments skipped;
 * relative paths are relative to the manifest.
 */
export function parseManifest(text: string, manifestPath: string): Recording[] {
  const out: Recording[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const source = `${manifestPath}:${i + 1}`;
    const tab = line.indexOf('\t');
    if (tab < 0) throw new CorpusError(`${source}: expected "<file.wav><TAB><what was said>"`);
    const file = line.slice(0, tab).trim();
    if (extname(file).toLowerCase() !== '.wav')
      throw new CorpusError(`${source}: ${file} is not a .wav file`);
    out.push({
      wav: isAbsolute(file) ? file : join(dirname(manifestPath), file),
      words: transcriptWords(line.slice(tab + 1), source),
      source,
    });
  }
  return out;
}

/**
 * A directory's recordings: every `x.wav` with its transcript `x.txt` beside it. `read` returns a file's
 * text. A WAV without its transcript (or the reverse) is an error, not silently skipped.
 */
export function recordingsInDir(dir: string, files: string[], read: (file: string) => string): Recording[] {
  // stem → file name, for one extension
  const byStem = (ext: string) =>
    new Map(files.filter((f) => extname(f).toLowerCase() === ext).map((f) => [basename(f, extname(f)), f]));
  const wavs = byStem('.wav');
  const texts = byStem('.txt');
  const silent = [...wavs.keys()].filter((s) => !texts.has(s)).map((s) => `${s}.wav`);
  const orphans = [...texts.keys()].filter((s) => !wavs.has(s)).map((s) => `${s}.txt`);
  if (silent.length > 0) throw new CorpusError(`${dir}: no transcript (.txt) for ${silent.join(', ')}`);
  if (orphans.length > 0) throw new CorpusError(`${dir}: no recording (.wav) for ${orphans.join(', ')}`);
  return [...wavs.keys()].sort().map((stem) => {
    const txt = join(dir, texts.get(stem)!);
    return { wav: join(dir, wavs.get(stem)!), words: transcriptWords(read(txt), txt), source: txt };
  });
}

/** Utterance ids sphinxtrain can use as file names: `utt0001`... */
export const utteranceIds = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `utt${String(i + 1).padStart(4, '0')}`);

/** `bw`'s control file (one utterance id a line) and transcription (`<s> words </s> (id)`). */
export function controlFiles(recordings: Recording[]): { fileids: string; transcription: string } {
  const ids = utteranceIds(recordings.length);
  return {
    fileids: `${ids.join('\n')}\n`,
    transcription: `${recordings.map((r, i) => `<s> ${r.words.join(' ')} </s> (${ids[i]})`).join('\n')}\n`,
  };
}

/** Every distinct word of the corpus, sorted (what the pronunciation dictionary must hold). */
export const corpusWords = (recordings: Recording[]): string[] =>
  [...new Set(recordings.flatMap((r) => r.words))].sort();

/**
 * Utterances `bw` aligned, from its log: each has an `utt> <n> <id> ...` line, and one it could not align
 * (transcript not what was said, audio cut) also an `ERROR: ... <id> ignored` line and trains nothing, so
 * enrollment reports how many were used.
 */
export function alignedUtterances(log: string): Set<string> {
  const seen = new Set<string>();
  const ignored = new Set<string>();
  for (const line of log.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'utt>' && f.length > 3) seen.add(f[2]!);
    const m = /^ERROR: .* (\S+) ignored$/.exec(line.trim());
    if (m) ignored.add(m[1]!);
  }
  return new Set([...seen].filter((id) => !ignored.has(id)));
}
