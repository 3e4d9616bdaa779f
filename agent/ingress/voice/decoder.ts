import { z } from 'zod';

/**
 * PocketSphinx search settings for the command decoder (`voice.decoder`), and their command-line form (pure).
 * Defaults measured with `npm run bench:voice-sweep` on held-out commands (not bench:voice's test set).
 */
export const decoderSchema = z
  .strictObject({
    topn: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(8)
      .describe(
        'Gaussians scored per frame (pocketsphinx -topn): more is more accurate in noise, and slower',
      ),
    beam: z
      .number()
      .positive()
      .max(1)
      .default(1e-48)
      .describe('HMM and phone beam (-beam, -pbeam): smaller keeps more paths'),
    wordBeam: z.number().positive().max(1).default(7e-29).describe('word-exit beam (-wbeam)'),
    maxActiveHmms: z
      .number()
      .int()
      .min(-1)
      .default(-1)
      .describe('cap on active HMMs per frame (-maxhmmpf), -1 for none'),
    unprocessedOpinion: z
      .union([z.boolean(), z.literal('ask')])
      .default(false)
      .describe(
        'with noise suppression on, also decode the audio as it came in: when the denoised audio gave no grammar sentence, one heard there is taken (true; measured: more right commands, but more wrong ones and out-of-scope accepts) or, where the denoised audio ends refused, asked back ("ask"; trigram grammars, whose coverage is measured against the VAD)',
      ),
    secondPass: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe('decode again against the grammar sentences closest to what the trigram decoder heard'),
        wordsPerEdit: z
          .number()
          .int()
          .min(1)
          .default(4)
          .describe('heard words per word edit the second pass may make (4: one edit in 4 to 7 words)'),
        maxEdits: z.number().int().min(0).max(3).default(1).describe('most word edits the second pass makes'),
        maxCandidates: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(100)
          .describe('most sentences decoded in the second pass'),
        phoneEditShare: z
          .number()
          .min(0)
          .max(1)
          .default(0)
          .describe(
            'also weigh the grammar sentences within this many phone edits per heard phone (0: word edits only; measured, 0.25 let through more wrong commands than it mended)',
          ),
        rescoreSentences: z
          .boolean()
          .default(false)
          .describe(
            'also decode again when the first pass already heard a sentence of the grammar (measured: it broke more right hearings than it mended)',
          ),
        lattice: z
          .enum(['off', 'enrolled', 'always'])
          .default('off')
          .describe(
            'also decode again the best grammar sentences in the first pass word lattice: with an enrolled acoustic model only, always, or off (measured: with the Debian model it let through more wrong commands than it mended; with an enrolled one it mended more than it broke, but one broken command reversed a motion)',
          ),
        maxRivalMargin: z
          .number()
          .default(25)
          .describe(
            'the edited sentence is refused when the first pass words fit the audio better by more than this (acoustic score per frame of the words that differ)',
          ),
      })
      .prefault({})
      .describe(
        'second pass over the grammar sentences a word edit away from the first pass (trigram grammars)',
      ),
    extraArgs: z
      .array(z.string())
      .refine(
        (args) => args.length % 2 === 0 && args.every((a, i) => i % 2 === 1 || a.startsWith('-')),
        'pairs of "-option", "value"',
      )
      .default([])
      .describe('further pocketsphinx options, e.g. ["-lw", "8"]; they override the ones above'),
  })
  .prefault({});

export type DecoderSettings = z.infer<typeof decoderSchema>;

export const defaultDecoderSettings: DecoderSettings = decoderSchema.parse(undefined);

/** The settings as pocketsphinx arguments. */
export function decoderArguments(s: DecoderSettings): string[] {
  return [
    ...['-topn', String(s.topn)],
    ...['-beam', String(s.beam), '-pbeam', String(s.beam)],
    ...['-wbeam', String(s.wordBeam)],
    ...['-maxhmmpf', String(s.maxActiveHmms)],
    ...s.extraArgs,
  ];
}

/**
 * `-name value` lists merged so a later value replaces an earlier one in place: pocketsphinx refuses to start
 * when an option is given twice ("Duplicate argument name").
 */
export function mergeArguments(...lists: string[][]): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (const list of lists) {
    if (list.length % 2 !== 0) throw new Error(`pocketsphinx options come in pairs: ${list.join(' ')}`);
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!;
      if (!name.startsWith('-')) throw new Error(`not a pocketsphinx option name: "${name}"`);
      const where = at.get(name);
      if (where === undefined) {
        at.set(name, out.length);
        out.push(name, list[i + 1]!);
      } else out[where + 1] = list[i + 1]!;
    }
  }
  return out;
}
