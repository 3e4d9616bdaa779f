import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { readCmudict } from '../../../models/factory/voice/dictionary.ts';
import type { SlingConfig } from '../../config/schema.ts';
import type { CheckResult } from '../../doctor/types.ts';
import { fromProjectRoot } from '../../paths.ts';

const found = (program: string) =>
  program.includes('/')
    ? existsSync(program)
    : (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, program)));

/** ALSA capture devices by name (`arecord -L`), or the reason there are none. */
function captureDevices(): string[] | string {
  try {
    const out = execFileSync('arecord', ['-L'], { encoding: 'utf8', timeout: 5000, stdio: 'pipe' });
    return out.split('\n').filter((l) => l && !/^\s/.test(l));
  } catch (error) {
    return (error as Error).message.split('\n')[0]!;
  }
}

/** The local microphone: the capture program, and with arecord the configured device. */
export function checkMicrophone(config: SlingConfig): CheckResult {
  const mic = config.voice.microphone;
  const enabled = config.voice.enabled && mic.enabled;
  const program = mic.command[0]!;
  if (!found(program)) {
    return {
      check: 'microphone',
      status: enabled ? 'fail' : 'warn',
      detail: `${enabled ? '' : 'optional, voice.microphone.enabled: false; '}${program} not found`,
      fix: basename(program) === 'arecord' ? 'sudo apt install alsa-utils' : `install ${program}`,
    };
  }
  if (!enabled) return { check: 'microphone', status: 'pass', detail: `${program} available (off)` };
  if (basename(program) !== 'arecord')
    return { check: 'microphone', status: 'pass', detail: mic.command.join(' ') };
  const devices = captureDevices();
  if (typeof devices === 'string' || !devices.includes(mic.device)) {
    return {
      check: 'microphone',
      status: 'fail',
      detail: `ALSA capture device "${mic.device}" not found${typeof devices === 'string' ? ` (${devices})` : ''}`,
      fix: 'arecord -L    # lists capture devices; set voice.microphone.device',
    };
  }
  return { check: 'microphone', status: 'pass', detail: `arecord on ${mic.device}, site ${mic.siteId}` };
}

/** The wake word: keyphrase spotter, the phrase's pronunciation, the phone loop for its second opinion. */
export function checkWakeWord(config: SlingConfig): CheckResult {
  const wake = config.voice.wake;
  const enabled = config.voice.enabled && wake.enabled;
  if (!wake.enabled)
    return {
      check: 'wake word',
      status: 'pass',
      // Measured on recorded speech (bench:voice-real): short commands are heard in other people's talk.
      detail: 'off: every utterance is a command; where people talk near the device, turn voice.wake on',
    };
  const missing: string[] = [];
  if (!found('pocketsphinx_continuous'))
    missing.push('pocketsphinx_continuous (sudo apt install pocketsphinx)');
  const loop = join(fromProjectRoot(config.voice.grammar), 'loop.jsgf');
  if (!existsSync(loop)) missing.push(`${loop} (npm run build:voice)`);
  if (missing.length > 0) {
    return {
      check: 'wake word',
      status: enabled ? 'fail' : 'warn',
      detail: `"${wake.phrase}" cannot be spotted: missing ${missing.join(', ')}`,
    };
  }
  const words = wake.phrase.toLowerCase().trim().split(/\s+/);
  let guessed: string[] = [];
  try {
    const known = readCmudict(undefined, new Set(words));
    guessed = words.filter((w) => !known.has(w));
  } catch {
    guessed = words;
  }
  return {
    check: 'wake word',
    status: guessed.length > 0 ? 'warn' : 'pass',
    detail:
      `"${wake.phrase}" (threshold ${wake.threshold}, timeout ${wake.timeoutMs} ms)` +
      (guessed.length > 0 ? `; not in CMUdict, pronounced by espeak-ng rules: ${guessed.join(', ')}` : ''),
  };
}
