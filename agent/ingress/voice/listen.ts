import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ConfigError } from '../../config/errors.ts';
import { loadConfig } from '../../config/load.ts';
import type { SlingConfig } from '../../config/schema.ts';
import { fromProjectRoot } from '../../paths.ts';
import { type CommandPath, type CommandResult, loadCommandPath } from './command-path.ts';
import { clauseIntents, needsConfirmation, onlyStops, type ParsedIntents, questionFor } from './confirm.ts';
import { type Heard, VoiceEngine, voiceEngineOptions } from './engine.ts';
import { typedForm } from './typed-form.ts';

export interface ListenFileOptions {
  json?: boolean;
  grammar?: string;
  config?: string;
  minConfidence?: string;
  parse?: boolean;
  /** NLU model directory (default: nlu.model in the config). */
  model?: string;
  commandPath?: CommandPath;
}

/** The `sling listen` command: returns the exit code (0 ok, 1 bad input or setup, 2 nothing accepted). */
export async function listenToFile(
  file: string,
  o: ListenFileOptions,
  out: Writable,
  err: Writable,
): Promise<number> {
  let config: SlingConfig;
  try {
    config = loadConfig(o.config).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err.write(`${error.message}\n`);
    return 1;
  }
  const voice = config.voice;
  const minConfidence = o.minConfidence === undefined ? voice.minConfidence : Number(o.minConfidence);
  if (!(minConfidence >= 0 && minConfidence <= 1)) {
    err.write(`--min-confidence must be a number from 0 to 1, got ${o.minConfidence}\n`);
    return 1;
  }
  let wav: Buffer;
  try {
    wav = readFileSync(file);
  } catch (error) {
    err.write(`cannot read ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  let engine: VoiceEngine;
  try {
    engine = await VoiceEngine.open(
      voiceEngineOptions(voice, {
        minConfidence,
        ...(o.grammar ? { grammarDir: fromProjectRoot(o.grammar) } : {}),
      }),
    );
  } catch (error) {
    err.write(`voice is not available: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    let heard: Heard[];
    try {
      heard = await engine.listenFile(wav);
    } catch (error) {
      err.write(`${file}: ${(error as Error).message}\n`);
      return 1;
    }
    if (heard.length === 0) {
      if (o.json) out.write(`${JSON.stringify(refusal('', 0, 'no speech detected'))}\n`);
      else out.write('no speech detected\n');
      return 2;
    }
    const commandPath =
      o.parse === false ? undefined : (o.commandPath ?? (await loadCommandPath(config, o.model)));
    let accepted = 0;
    for (const h of heard) {
      const r = h.recognition;
      const at = `${(h.utterance.speechStart / 16000).toFixed(2)}-${(h.utterance.speechEnd / 16000).toFixed(2)} s`;
      let result: CommandResult;
      if (!r.accepted) {
        result = refusal(r.text, r.confidence, r.reason ?? 'not recognised');
      } else {
        accepted++;
        result = commandPath ? await commandPath.run(typedForm(r.text)) : { text: r.text };
      }
      if (o.json) {
        out.write(`${JSON.stringify({ ...result, heard: r.text, asrConfidence: round(r.confidence) })}\n`);
        continue;
      }
      out.write(`heard: "${r.text}" (asr confidence ${r.confidence.toFixed(2)}, ${at})\n`);
      // A file cannot answer; a live site would have asked (voice.confirm) before running anything.
      const { confirm } = voice;
      if (!r.accepted) {
        out.write(`  refused: ${r.reason}\n`);
        // A live site has a dialogue (wake or confirm) to tell a stop by, and runs a stop in doubt at once.
        const stopsAtOnce =
          r.doubt &&
          commandPath &&
          (confirm.enabled || voice.wake.enabled) &&
          onlyStops(clauseIntents((await commandPath.run(typedForm(r.text))) as ParsedIntents));
        if (stopsAtOnce)
          out.write('  a live site would run it at once: a stop heard in doubt is not asked\n');
        else if (r.doubt && confirm.enabled && confirm.askWhenUnsure)
          out.write(`  a live site would be asked: "${questionFor(typedForm(r.text), r.doubt)}"\n`);
      } else if (o.parse !== false) {
        out.write(`${JSON.stringify(result, null, 2).replace(/^/gm, '  ')}\n`);
        if (confirm.enabled && needsConfirmation(clauseIntents(result as ParsedIntents), confirm.intents))
          out.write(`  a live site would ask first: "${questionFor(typedForm(r.text))}"\n`);
      }
    }
    await commandPath?.close();
    return accepted > 0 ? 0 : 2;
  } finally {
    await engine.close();
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** What a refused recognition looks like in place of a parse: nothing to execute, and why. */
function refusal(heard: string, confidence: number, reason: string): CommandResult {
  return {
    text: heard,
    intent: null,
    confidence: 0,
    slots: [],
    actions: [],
    reply: "Sorry, I didn't catch that.",
    refused: { reason: `speech not recognised: ${reason}` },
    asrConfidence: round(confidence),
  };
}
