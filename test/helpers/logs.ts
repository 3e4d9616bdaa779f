import { PassThrough } from 'node:stream';

/** A log destination for `createLogger` (JSON lines) whose entries a test can read back by message. */
export function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  /** Entries whose message starts with `msg`, in order. */
  const logged = (msg: string) => lines.filter((l) => String(l.msg).startsWith(msg));
  return { stream, lines, logged };
}

/** Polls until `condition` holds (for state no broker message announces, such as a log line). */
export async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
