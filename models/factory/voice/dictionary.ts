import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Pronunciation dictionary for the grammar's words: CMUdict from pocketsphinx-en-us first (all variants),
 * then espeak-ng's letter-to-sound rules for words CMUdict lacks (names, coinages such as "sling"),
 * converted from IPA to the acoustic model's ARPAbet phones.
 */
export const CMUDICT = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';

export const PHONES = [
  'AA',
  'AE',
  'AH',
  'AO',
  'AW',
  'AY',
  'B',
  'CH',
  'D',
  'DH',
  'EH',
  'ER',
  'EY',
  'F',
  'G',
  'HH',
  'IH',
  'IY',
  'JH',
  'K',
  'L',
  'M',
  'N',
  'NG',
  'OW',
  'OY',
  'P',
  'R',
  'S',
  'SH',
  'T',
  'TH',
  'UH',
  'UW',
  'V',
  'W',
  'Y',
  'Z',
  'ZH',
];

/** Word → pronunciations (without the "(2)" variant suffix). */
export function readCmudict(path = CMUDICT, wanted?: Set<string>): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const word = line.slice(0, space).replace(/\(\d+\)$/, '');
    if (wanted && !wanted.has(word)) continue;
    const phones = line
      .slice(space + 1)
      .replace(/#.*$/, '')
      .trim();
    const list = entries.get(word) ?? [];
    list.push(phones);
    entries.set(word, list);
  }
  return entries;
}

// Longest IPA symbols first. espeak-ng's en-us output; stress and length marks are removed before.
const IPA: [string, string][] = [
  ['tʃ', 'CH'],
  ['dʒ', 'JH'],
  ['aɪ', 'AY'],
  ['aʊ', 'AW'],
  ['ɔɪ', 'OY'],
  ['eɪ', 'EY'],
  ['oʊ', 'OW'],
  ['əʊ', 'OW'],
  ['ɪɹ', 'IH R'],
  ['ɛɹ', 'EH R'],
  ['ɑɹ', 'AA R'],
  ['ɔɹ', 'AO R'],
  ['ʊɹ', 'UH R'],
  ['ɜɹ', 'ER'],
  ['ɚ', 'ER'],
  ['ɝ', 'ER'],
  ['ɜ', 'ER'],
  ['i', 'IY'],
  ['ɪ', 'IH'],
  ['ᵻ', 'IH'],
  ['ɛ', 'EH'],
  ['e', 'EH'],
  ['æ', 'AE'],
  ['a', 'AA'],
  ['ɑ', 'AA'],
  ['ɒ', 'AA'],
  ['ɔ', 'AO'],
  ['o', 'OW'],
  ['ʊ', 'UH'],
  ['u', 'UW'],
  ['ʌ', 'AH'],
  ['ə', 'AH'],
  ['ɐ', 'AH'],
  ['p', 'P'],
  ['b', 'B'],
  ['t', 'T'],
  ['d', 'D'],
  ['k', 'K'],
  ['ɡ', 'G'],
  ['g', 'G'],
  ['f', 'F'],
  ['v', 'V'],
  ['θ', 'TH'],
  ['ð', 'DH'],
  ['s', 'S'],
  ['z', 'Z'],
  ['ʃ', 'SH'],
  ['ʒ', 'ZH'],
  ['h', 'HH'],
  ['m', 'M'],
  ['n', 'N'],
  ['ŋ', 'NG'],
  ['l', 'L'],
  ['ɫ', 'L'],
  ['ɹ', 'R'],
  ['r', 'R'],
  ['j', 'Y'],
  ['w', 'W'],
  ['ɾ', 'T'],
  ['x', 'K'],
];

export function ipaToArpabet(ipa: string): string {
  const s = ipa.replace(/ˈ|ˌ|ː|ˑ|‿|\u0361|-|_|\s|ʔ/g, '');
  const phones: string[] = [];
  for (let i = 0; i < s.length; ) {
    const hit = IPA.find(([sym]) => s.startsWith(sym, i));
    if (!hit) {
      i++; // unknown symbol (rare diacritic): skip rather than fail the whole word
      continue;
    }
    phones.push(hit[1]);
    i += hit[0].length;
  }
  return phones.join(' ');
}

/** IPA of each word from espeak-ng (one process for all words: one word per line in, one per line out). */
export function espeakIpa(words: string[], voice = 'en-us'): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('espeak-ng', ['-q', '--ipa', '-v', voice], { timeout: 30000 }, (error, stdout) => {
      if (error) reject(new Error(`espeak-ng failed: ${error.message}`));
      else
        resolve(
          stdout
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean),
        );
    });
    // A full stop after each word makes espeak-ng print one line per word.
    child.stdin?.end(`${words.join('.\n')}.\n`);
  });
}

export interface BuiltDictionary {
  text: string;
  /** Words pronounced by espeak-ng rules because CMUdict lacks them. */
  guessed: string[];
}

export async function buildDictionary(words: string[], cmudictPath = CMUDICT): Promise<BuiltDictionary> {
  const known = readCmudict(cmudictPath, new Set(words));
  const missing = words.filter((w) => !known.has(w));
  if (missing.length > 0) {
    const ipa = await espeakIpa(missing);
    if (ipa.length !== missing.length)
      throw new Error(`espeak-ng returned ${ipa.length} lines for ${missing.length} words`);
    missing.forEach((w, i) => {
      const phones = ipaToArpabet(ipa[i]!);
      if (!phones) throw new Error(`no pronunciation for "${w}"`);
      known.set(w, [phones]);
    });
  }
  const lines: string[] = [];
  for (const w of [...words].sort()) {
    for (const [i, p] of known.get(w)!.entries()) lines.push(i === 0 ? `${w} ${p}` : `${w}(${i + 1}) ${p}`);
  }
  return { text: `${lines.join('\n')}\n`, guessed: missing };
}

/** Unconstrained phone loop: every phone a "word", any sequence. Scores the audio for the rejection test. */
export function phoneLoop(): { jsgf: string; dictionary: string } {
  const words = PHONES.map((p) => `ph_${p.toLowerCase()}`);
  return {
    jsgf: `#JSGF V1.0;\ngrammar loop;\npublic <loop> = ( ${words.join(' | ')} )+;\n`,
    dictionary: `${PHONES.map((p) => `ph_${p.toLowerCase()} ${p}`).join('\n')}\n`,
  };
}
