import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { decodeWav } from '../../agent/ingress/voice/wav.ts';

/**
 * Real human speech: the recordings Debian's `pocketsphinx-testdata` installs (CMU's test data, BSD-style
 * licence) and the speaker-test voice of `alsa-utils` ("front left", ..., GPL), which `.ci/run` installs:
 * nothing is committed and nothing is downloaded at run time.
 */
export const RECORDINGS_DIR = '/usr/share/pocketsphinx/test/data';
export const ALSA_SOUNDS_DIR = '/usr/share/sounds/alsa';
const SPEAKER_TEST = [
  'Front_Center',
  'Front_Left',
  'Front_Right',
  'Rear_Center',
  'Rear_Left',
  'Rear_Right',
  'Side_Left',
  'Side_Right',
];

export interface Recording {
  /** The file's name in the package. */
  name: string;
  /** What the speaker says (the package's transcripts), or null where the package gives none. */
  transcript: string | null;
  /** A command of the default world; the rest are speech it must refuse. */
  command: boolean;
  /** 16 kHz mono samples. */
  samples: Float32Array;
}

/** The package's headerless 16 kHz 16-bit little-endian PCM files. */
function rawSamples(file: string): Float32Array {
  const bytes = readFileSync(file);
  const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  return Float32Array.from(pcm, (v) => v / 32768);
}

/** `<s> words </s> (id)` lines, as sphinxtrain writes transcripts. */
function transcripts(file: string): Map<string, string> {
  const byId = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^<s>\s*(.*?)\s*<\/s>\s*\((.+)\)\s*$/.exec(line);
    if (m) byId.set(m[2]!, m[1]!);
  }
  return byId;
}

/** Every recording, or an error naming the package to install. */
export function recordings(dir = RECORDINGS_DIR, alsaDir = ALSA_SOUNDS_DIR): Recording[] {
  if (!existsSync(join(dir, 'goforward.raw')))
    throw new Error(`${dir}/goforward.raw is missing: apt install pocketsphinx-testdata`);
  if (!existsSync(join(alsaDir, 'Front_Left.wav')))
    throw new Error(`${alsaDir}/Front_Left.wav is missing: apt install alsa-utils`);
  // 48 kHz, each two words with a pause between ("side ... right").
  const speakerTest = SPEAKER_TEST.map((n) => {
    const audio = decodeWav(readFileSync(join(alsaDir, `${n}.wav`)));
    return {
      name: `alsa/${n}.wav`,
      transcript: n.toLowerCase().replace('_', ' '),
      command: false,
      samples: resample(audio.samples, audio.sampleRate, 16000),
    };
  });
  const listed = (sub: string, names: string[]) => {
    const said = transcripts(join(dir, sub, sub === 'cards' ? 'cards.transcription' : 'transcription'));
    return names.map((name) => ({
      name: `${sub}/${name}`,
      transcript: said.get(basename(name, '.wav')) ?? null,
      command: false,
      samples: decodeWav(readFileSync(join(dir, sub, name))).samples,
    }));
  };
  return [
    // The package's own grammar (goforward.gram) gives this sentence.
    {
      name: 'goforward.raw',
      transcript: 'go forward ten meters',
      command: true,
      samples: rawSamples(join(dir, 'goforward.raw')),
    },
    {
      name: 'something.raw',
      transcript: null,
      command: false,
      samples: rawSamples(join(dir, 'something.raw')),
    },
    { name: 'numbers.raw', transcript: null, command: false, samples: rawSamples(join(dir, 'numbers.raw')) },
    ...listed('cards', ['001.wav', '002.wav', '003.wav', '004.wav', '005.wav']),
    ...listed(
      'librivox',
      ['0870', '0880', '0890', '0920', '0930'].map((n) => `sense_and_sensibility_01_austen_64kb-${n}.wav`),
    ),
    ...speakerTest,
  ];
}

/** Where Debian's `hedgewars-data` (GPL; not installed by CI: 145 MB) keeps its game characters' voices. */
export const GAME_VOICES_DIR = '/usr/share/games/hedgewars/Data/Sounds/voices';
/** Its English voice packs: 10 speakers, shouts and quips ("hurry!", "cut it out", "take cover"), ~60 each. */
const ENGLISH_PACKS = [
  'British',
  'Classic',
  'Default',
  'HillBilly',
  'Mobster',
  'Pirate',
  'Robot',
  'Russian',
  'Singer',
  'Surfer',
];

/**
 * Expressive speech that is never a command to the robot, when `hedgewars-data` is installed (else none): Ogg
 * Vorbis, read through sox. For benchmarks only; the tests use what `.ci/run` installs.
 */
export function gameVoices(dir = GAME_VOICES_DIR): Recording[] {
  if (!existsSync(dir)) return [];
  return ENGLISH_PACKS.flatMap((pack) =>
    readdirSync(join(dir, pack))
      .filter((f) => f.endsWith('.ogg'))
      .sort()
      .map((f) => ({
        name: `${pack}/${f}`,
        transcript: null,
        command: false,
        samples: decodeWav(
          // -R: sox's dither to 16 bits repeats run to run (measured: unseeded, 83 vs 90 of 591 ran something).
          execFileSync('sox', [
            '-R',
            '-V1',
            join(dir, pack, f),
            '-t',
            'wav',
            '-r',
            '16000',
            '-c',
            '1',
            '-b',
            '16',
            '-',
          ]),
        ).samples,
      })),
  );
}
