import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { decodeWav } from '../../agent/ingress/voice/wav.ts';

/**
 * Real human speech: the recordings Debian's `pocketsphinx-testdata` installs (CMU's test data, BSD-style
 * licence). The only recorded voices on the machine, so nothing is committed and nothing is downloaded.
 */
export const RECORDINGS_DIR = '/usr/share/pocketsphinx/test/data';

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
export function recordings(dir = RECORDINGS_DIR): Recording[] {
  if (!existsSync(join(dir, 'goforward.raw')))
    throw new Error(`${dir}/goforward.raw is missing: apt install pocketsphinx-testdata`);
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
  ];
}
