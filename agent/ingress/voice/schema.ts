import { z } from 'zod';
import { confirmSchema } from './confirm.ts';
import { decoderSchema } from './decoder.ts';
import { microphoneSchema } from './mic.ts';
import { defaultSegmenterOptions } from './segmenter.ts';
import { wakeSchema } from './wake.ts';

/** `voice:` config section. Voice is optional: disabled by default, and the agent runs without it. */
export const voiceSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('listen on Hermes audio topics and speak replies'),
    grammar: z
      .string()
      .default('models/default/voice')
      .describe('directory with grammar.lm, grammar.dict, loop.jsgf, loop.dict (built from the intent spec)'),
    acousticModel: z
      .string()
      .optional()
      .describe(
        'adapted acoustic model written by `sling voice enrol` (e.g. .sling/voice/acoustic); unset = Debian en-us',
      ),
    minConfidence: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('recognitions below this are refused, never executed'),
    decoder: decoderSchema,
    denoise: z
      .boolean()
      .default(true)
      .describe(
        'RNNoise noise suppression before the VAD and recogniser (measured: fewer misses in noise, earlier end of speech)',
      ),
    vad: z
      .strictObject({
        threshold: z.number().min(0.05).max(0.99).default(0.5),
        trailingSilenceMs: z
          .number()
          .int()
          .min(64)
          .max(5000)
          .default(defaultSegmenterOptions.trailingSilenceMs)
          .describe('silence that ends an utterance (longer for slow speakers, costs latency)'),
        minSpeechMs: z.number().int().min(0).max(5000).default(128),
        maxUtteranceMs: z.number().int().min(1000).max(60000).default(10000),
        preRollMs: z.number().int().min(0).max(2000).default(192),
        earlyDecodeMs: z
          .number()
          .int()
          .min(32)
          .max(5000)
          .default(defaultSegmenterOptions.earlyDecodeMs)
          .describe('pause after which decoding starts while the trailing silence is still being confirmed'),
        quietDb: z
          .number()
          .min(0)
          .max(80)
          .default(defaultSegmenterOptions.quietDb)
          .describe(
            'a frame this far below the loudest speech counts as a pause for early decoding (0: the VAD alone)',
          ),
        completeSilenceMs: z
          .number()
          .int()
          .min(32)
          .max(5000)
          .default(defaultSegmenterOptions.completeSilenceMs)
          .describe('silence that ends an utterance once its early decode heard a finished command'),
      })
      .prefault({}),
    hermes: z
      .strictObject({
        siteIds: z.array(z.string()).default([]).describe('satellites to listen to; empty = all'),
        maxSites: z
          .number()
          .int()
          .min(1)
          .max(256)
          .default(16)
          .describe(
            'when siteIds is empty: most satellites heard (each costs a VAD session); frames from more are refused',
          ),
        pushToTalk: z
          .boolean()
          .default(false)
          .describe('only listen between hermes/asr/startListening and stopListening'),
      })
      .prefault({}),
    tts: z
      .strictObject({
        enabled: z.boolean().default(true),
        voice: z.string().default('en-us').describe('espeak-ng voice'),
        wordsPerMinute: z.number().int().min(80).max(450).default(170),
        output: z
          .enum(['mqtt', 'aplay', 'none'])
          .default('mqtt')
          .describe('mqtt: publish WAV to hermes/audioServer/<siteId>/playBytes/<id>; aplay: play locally'),
      })
      .prefault({}),
    adaptation: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'adapt the acoustic model to the voices and room it hears, from the commands it accepted (kept on the device only; needs sphinxtrain). Measured: a big gain for whoever talks to it most, a loss for voices heard seldom',
          ),
        dir: z
          .string()
          .default('.sling/voice/heard')
          .describe('kept commands (WAV + heard.tsv) and the adapted model (acoustic/)'),
        minCommands: z
          .number()
          .int()
          .min(10)
          .max(10000)
          .default(100)
          .describe('first adaptation once this many commands are kept'),
        every: z.number().int().min(10).max(10000).default(50).describe('adapt again after this many more'),
        keep: z
          .number()
          .int()
          .min(10)
          .max(10000)
          .default(400)
          .describe('newest commands kept (about 100 KB each); older ones are deleted'),
      })
      .prefault({}),
    wake: wakeSchema,
    confirm: confirmSchema,
    microphone: microphoneSchema,
  })
  .prefault({});

export type VoiceConfig = z.infer<typeof voiceSchema>;
