import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
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
  return pino(
    options,
    pretty({ destination: stream, colorize: isTty, translateTime: 'HH:MM:ss.l', sync: true }),
  );
}
