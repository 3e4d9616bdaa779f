import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { SlingConfig } from './config/schema.ts';

export type { Logger };

/** JSON lines for machines; human-readable when a person is watching a terminal. */
export function createLogger(
  settings: SlingConfig['log'],
  stream: NodeJS.WritableStream = process.stderr,
): Logger {
  const isTty = (stream as { isTTY?: boolean }).isTTY === true;
  const wantPretty = settings.pretty === 'always' || (settings.pretty === 'auto' && isTty);
  const options = { level: settings.level, base: { pid: process.pid } };
  if (!wantPretty) return pino(options, stream);
  // loaded only for a person at a terminal: a service logging JSON saves its ~1.5 MiB
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(
    options,
    pretty({ destination: stream, colorize: isTty, translateTime: 'HH:MM:ss.l', sync: true }),
  );
}
