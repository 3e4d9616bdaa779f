import { loadConfig } from '../../agent/config/load.ts';
import { VoiceDialogue } from '../../agent/ingress/voice/dialogue.ts';
import { VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { type VoiceConfig, voiceSchema } from '../../agent/ingress/voice/schema.ts';
import { Segmenter, type Utterance } from '../../agent/ingress/voice/segmenter.ts';
import { AudioStream } from '../../agent/ingress/voice/stream.ts';
import { SileroVad } from '../../agent/ingress/voice/vad.ts';
import { RATE } from './noisy-speech.ts';

/**
 * A site as the agent runs it with the wake word on (the configured voice settings, SLING_VOICE_* overrides):
 * noise suppression → VAD → segmenter → the dialogue's wake gate and yes/no answers.
 */
export class WakePath {
  private site = 0;

  private constructor(
    readonly config: VoiceConfig,
    readonly engine: VoiceEngine,
    readonly dialogue: VoiceDialogue,
    private readonly vad: SileroVad,
  ) {}

  static async open(grammarDir: string): Promise<WakePath> {
    const configured = loadConfig().config.voice;
    const config = voiceSchema.parse({
      ...configured,
      enabled: true,
      wake: { ...configured.wake, enabled: true },
    });
    const engine = await VoiceEngine.open({
      grammarDir,
      minConfidence: config.minConfidence,
      denoise: config.denoise,
    });
    const dialogue = await VoiceDialogue.open({
      wake: config.wake,
      confirm: config.confirm,
      grammarDir,
      minConfidence: config.minConfidence,
      onCancelled: () => {},
    });
    return new WakePath(config, engine, dialogue, await SileroVad.load());
  }

  /** The utterances a fresh stream (VAD state reset, its own noise suppressor) cuts 16 kHz `samples` into. */
  async utterances(samples: Float32Array): Promise<Utterance[]> {
    const utterances: Utterance[] = [];
    this.vad.reset();
    const denoiser = await this.engine.noiseSuppressor();
    const stream = new AudioStream(
      this.vad,
      new Segmenter(this.config.vad),
      (u) => {
        utterances.push(u);
      },
      undefined,
      denoiser,
    );
    await stream.push(samples, RATE);
    await stream.flush();
    denoiser?.close();
    return utterances;
  }

  /** What the dialogue makes of each utterance on a fresh (asleep) site, in order, with its time. */
  async hear(samples: Float32Array) {
    const siteId = `s${++this.site}`;
    const routes: { utterance: Utterance; route: Awaited<ReturnType<VoiceDialogue['route']>>; ms: number }[] =
      [];
    for (const utterance of await this.utterances(samples)) {
      const started = performance.now();
      const route = await this.dialogue.route(siteId, utterance);
      routes.push({ utterance, route, ms: performance.now() - started });
    }
    return routes;
  }

  async close(): Promise<void> {
    await this.dialogue.close();
    await this.engine.close();
    await this.vad.close();
  }
}
