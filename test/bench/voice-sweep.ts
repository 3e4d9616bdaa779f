/**
 * Decoder settings swept on held-out speech: default-world commands and out-of-scope sentences that
 * bench:voice does NOT report (so settings are not tuned on its test set), rendered once with bench:voice's
 * recipe (espeak-ng en-us, en-gb, en-us+f3 at 150/190 wpm, sox pink noise at 20 and 10 dB, the recogniser's
 * padding), then decoded by one `pocketsphinx_batch` per setting with the recogniser's arguments plus the
 * setting's. Scored as the recogniser would: the hypothesis must be a grammar sentence (one stray word at
 * either end trimmed), else refused.
 * Env: VOICE_SWEEP (JSON object: label → extra pocketsphinx args; first "jsgf" to search the full grammar),
 * VOICE_SWEEP_COMMANDS (40), VOICE_SWEEP_OOS (20).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../agent/config/load.ts';
import { loadCommandPath } from '../../agent/ingress/voice/command-path.ts';
import { pocketSphinxFromDir } from '../../agent/ingress/voice/engine.ts';
import { DEFAULT_HMM, hypothesisWords, parseHypSeg } from '../../agent/ingress/voice/pocketsphinx.ts';
import { decodeWav, encodeWav } from '../../agent/ingress/voice/wav.ts';
import { projectRoot } from '../../agent/paths.ts';
import { grammarAccepts, longestGrammarSpan, parseJsgfRules } from '../../models/factory/voice/ngram.ts';
import { type Row, writeResult } from './harness.ts';
import { NoisySpeech, RATE } from './noisy-speech.ts';
import { fixtureLines, notReported, plannedCommands, spokenText, spread } from './voice-fixtures.ts';

const PAD = 4000;
const VOICES = ['en-us', 'en-gb', 'en-us+f3'];
const SPEEDS = [150, 190];
const SNRS = [20, 10];
const voiceDir = resolve(projectRoot, process.env.VOICE_SWEEP_GRAMMAR ?? 'models/default/voice');
const settings: Record<string, string[]> = JSON.parse(process.env.VOICE_SWEEP ?? '{"shipped":[]}');
const nCommands = Number(process.env.VOICE_SWEEP_COMMANDS ?? 40);
const nOos = Number(process.env.VOICE_SWEEP_OOS ?? 20);

// Held out: bench:voice reports spread(commands, 40) and spread(out-of-scope, 20).
const commands = spread(notReported(plannedCommands(), 40), nCommands);
const outOfScope = spread(notReported(fixtureLines('out-of-scope.txt'), 20), nOos);
const grammar = parseJsgfRules(readFileSync(join(voiceDir, 'grammar.jsgf'), 'utf8'));
/** The recogniser's sentence check (pocketsphinx.ts): a grammar sentence, or one after trimming one word. */
function accepted(words: string[]): string | undefined {
  if (words.length === 0) return undefined;
  if (grammarAccepts(grammar.rules, grammar.root, words)) return words.join(' ');
  const span = longestGrammarSpan(grammar.rules, grammar.root, words);
  const kept = span ? span.end - span.start : 0;
  if (!span || kept < words.length - 1 || kept / words.length < 0.75) return undefined;
  return words.slice(span.start, span.end).join(' ');
}

const commandPath = await loadCommandPath(loadConfig().config);
const planCache = new Map<string, string>();
/** The plan the normal command path makes of `text` (actions, refused or not); '' for no actions. */
async function planOf(text: string): Promise<string> {
  let plan = planCache.get(text);
  if (plan === undefined) {
    const r = await commandPath.run(text);
    plan =
      (r.actions as unknown[]).length > 0 ? JSON.stringify({ a: r.actions, r: r.refused !== undefined }) : '';
    planCache.set(text, plan);
  }
  return plan;
}
/** Acceptance policies: what text the recogniser hands on for a hypothesis (undefined = refused). */
const policies: Record<string, (words: string[]) => string | undefined> = {
  grammar: accepted,
  any: (words) => (words.length > 0 ? words.join(' ') : undefined),
};

interface Clip {
  id: string;
  text: string;
  snr: number;
  inGrammar: boolean;
  command: boolean;
}

const tmp = mkdtempSync(join(tmpdir(), 'sling-bench-voice-sweep-'));
const clipDir = join(tmp, 'clips');
mkdirSync(clipDir);
const speech = new NoisySpeech(120, true);
const clips: Clip[] = [];
async function add(set: string, sentences: string[], snrs: number[], command: boolean) {
  for (const snr of snrs) {
    for (const [si, text] of sentences.entries()) {
      for (const k of [0, 1]) {
        const combo = (si * 2 + k) % 6;
        const voice = VOICES[combo % 3]!;
        const wpm = SPEEDS[Math.floor(combo / 3)]!;
        const { samples } = await speech.render(text, voice, wpm, snr);
        const padded = new Float32Array(samples.length + 2 * PAD);
        padded.set(samples, PAD);
        const id = `${set}_${snr}_${si}_${k}`;
        writeFileSync(join(clipDir, `${id}.wav`), encodeWav(padded, RATE));
        const ref = spokenText(text);
        clips.push({
          id,
          text: ref,
          snr,
          command,
          inGrammar: grammarAccepts(grammar.rules, grammar.root, ref.split(' ')),
        });
      }
    }
  }
}
await add('cmd', commands, SNRS, true);
await add('oos', outOfScope, [20], false);
writeFileSync(join(tmp, 'ctl'), `${clips.map((c) => c.id).join('\n')}\n`);

/** `extra` starting with "jsgf": search the full grammar (the rest are extra args); else the trigram model. */
function decode(extra: string[]): { heard: Map<string, string[]>; wall: number } {
  const search =
    extra[0] === 'jsgf'
      ? ['-jsgf', join(voiceDir, 'grammar.jsgf'), ...extra.slice(1)]
      : ['-lm', join(voiceDir, 'grammar.lm'), '-fwdflat', 'no', ...extra];
  const before = performance.now();
  execFileSync(
    'nice',
    [
      '-n',
      '10',
      'pocketsphinx_batch',
      ...['-hmm', DEFAULT_HMM, '-dict', join(voiceDir, 'grammar.dict'), '-adcin', 'yes'],
      ...['-cepdir', clipDir, '-cepext', '.wav', '-dither', 'yes', '-seed', '1', '-logfn', '/dev/null'],
      ...search,
      ...['-ctl', join(tmp, 'ctl'), '-hypseg', join(tmp, 'hyp')],
    ],
    { maxBuffer: 1 << 26 },
  );
  const heard = new Map<string, string[]>();
  for (const line of readFileSync(join(tmp, 'hyp'), 'utf8').split('\n')) {
    const seg = parseHypSeg(line);
    if (seg) heard.set(seg.utterance, hypothesisWords(seg.words));
  }
  return { heard, wall: (performance.now() - before) / 1000 };
}

const rows: Row[] = [];
const misses: Record<string, string[]> = {};
/** With VOICE_SWEEP_CONTRAST: the whole recogniser (configured decoder) over the clips, for contrast margins. */
const contrastMargins: string[] = [];
async function recogniserPass() {
  const recognizer = pocketSphinxFromDir(voiceDir, 0.5, { decoder: loadConfig().config.voice.decoder });
  const stats: Record<string, number> = {};
  for (const c of clips) {
    const audio = decodeWav(readFileSync(join(clipDir, `${c.id}.wav`))).samples.subarray(PAD, -PAD);
    const r = await recognizer.recognize(audio);
    const margin = r.detail?.contrastMargin;
    const right = r.text === c.text;
    const key = `${c.command ? c.snr : 'oos'} ${r.accepted ? 'accepted' : 'refused'} ${right ? 'right' : 'wrong'}`;
    stats[key] = (stats[key] ?? 0) + 1;
    if (typeof margin === 'number')
      contrastMargins.push(
        `${Math.round(margin)} ${c.command ? (right ? 'right' : 'wrong') : 'oos'}: ${r.text} / ${r.detail?.contrastRival}`,
      );
  }
  await recognizer.close();
  process.stderr.write(`${JSON.stringify(stats)}\n`);
  contrastMargins.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
}
try {
  if (process.env.VOICE_SWEEP_CONTRAST) await recogniserPass();
  for (const [label, extra] of Object.entries(settings)) {
    const { heard, wall } = decode(extra);
    const row: Row = { setting: label, wallSeconds: +wall.toFixed(1) };
    misses[label] = [];
    for (const snr of SNRS) {
      const subset = clips.filter((c) => c.command && c.snr === snr);
      let exact = 0;
      let raw = 0;
      const planOk: Record<string, number> = {};
      let planned = 0;
      for (const c of subset) if ((await planOf(c.text)) !== '') planned++;
      for (const c of subset) {
        const words = heard.get(c.id) ?? [];
        if (words.join(' ') === c.text) raw++;
        const text = accepted(words);
        if (text !== c.text)
          misses[label]!.push(`${snr} ${c.text} → ${words.join(' ')}${text ? '' : ' (refused)'}`);
        else exact++;
        const typed = await planOf(c.text);
        for (const [name, policy] of Object.entries(policies)) {
          const handed = policy(words);
          const ok = typed !== '' && handed !== undefined && (await planOf(handed)) === typed;
          planOk[name] = (planOk[name] ?? 0) + (ok ? 1 : 0);
        }
      }
      row[`exact@${snr}`] = `${((100 * exact) / subset.length).toFixed(1)}%`;
      row[`raw@${snr}`] = `${((100 * raw) / subset.length).toFixed(1)}%`;
      for (const [name, ok] of Object.entries(planOk))
        row[`plan-${name}@${snr}`] = `${((100 * ok) / planned).toFixed(1)}%`;
    }
    const oos = clips.filter((c) => !c.command);
    const through = oos.filter((c) => accepted(heard.get(c.id) ?? []) !== undefined).length;
    row.oosThrough = `${through}/${oos.length}`;
    for (const [name, policy] of Object.entries(policies)) {
      let planned = 0;
      for (const c of oos) {
        const handed = policy(heard.get(c.id) ?? []);
        if (handed !== undefined && (await planOf(handed)) !== '') planned++;
      }
      row[`oosPlan-${name}`] = `${planned}/${oos.length}`;
    }
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
} finally {
  speech.close();
  await commandPath.close();
  rmSync(tmp, { recursive: true, force: true });
}
writeResult('voice-sweep', rows, {
  commands: commands.length,
  commandsInGrammar: commands.filter((t) =>
    grammarAccepts(grammar.rules, grammar.root, spokenText(t).split(' ')),
  ).length,
  outOfScope: outOfScope.length,
  settings,
  loadAverage: loadavg().map((l) => +l.toFixed(2)),
  note: 'exact = what the recogniser would accept equals the spoken sentence (before the contrast check and the NLU); oosThrough = out-of-scope clips decoded to a grammar sentence',
  misses,
  contrastMargins,
});
