import type { SlingConfig, SlingConfigInput } from '../../agent/config/schema.ts';
import { testConfig } from './agent.ts';
import { buildFixtureGrammar } from './speech.ts';

/**
 * An agent config with voice on the fixture grammar, logging JSON at info (for `capturedLog`), no spoken
 * replies and no confirmation: the keyword test parser's plans are not previewed as safe, so every command
 * would otherwise wait for a "yes".
 */
export async function voiceAgentConfig(
  brokerUrl: string,
  voice: NonNullable<SlingConfigInput['voice']> = {},
): Promise<SlingConfig> {
  return testConfig({
    mqtt: { url: brokerUrl },
    log: { level: 'info', pretty: 'never' },
    voice: {
      enabled: true,
      grammar: await buildFixtureGrammar(),
      tts: { output: 'none' },
      confirm: { enabled: false },
      ...voice,
    },
  });
}
