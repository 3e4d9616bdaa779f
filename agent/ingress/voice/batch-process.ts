import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/**
 * One long-running `pocketsphinx_batch` that decodes utterance after utterance: loading the acoustic model
 * and a grammar or language model costs more than decoding a command, so it is paid once.
 * Two traps, both measured: the decoder cannot read Node's stdin (a socket), so utterance names go through a
 * FIFO as its control file; and it writes results with stdio buffering, which only flushes per line on a
 * terminal, so it runs under `script` (util-linux) on a pseudo-terminal.
 */
export function persistentDecodingAvailable(): boolean {
  return ['/usr/bin/script', '/bin/script'].some((p) => existsSync(p));
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

export class BatchProcess {
  private child?: ChildProcess;
  private ctl?: WriteStream;
  private buffer = '';
  private readonly waiting = new Map<
    string,
    { resolve: (line: string) => void; reject: (e: Error) => void }
  >();
  private readonly fifo: string;
  /** With per-utterance grammars: a second FIFO naming each utterance's FSG file (`-fsgctl`). */
  private readonly fsgFifo?: string;
  private fsgCtl?: WriteStream;

  constructor(
    dir: string,
    tag: string,
    private readonly decoderArgs: string[],
    perUtteranceGrammar = false,
  ) {
    this.fifo = join(dir, `${tag}.ctl`);
    if (perUtteranceGrammar) this.fsgFifo = join(dir, `${tag}.fsgctl`);
  }

  private start(): void {
    for (const f of [this.fifo, this.fsgFifo]) if (f && !existsSync(f)) execFileSync('mkfifo', [f]);
    const command = [
      'pocketsphinx_batch',
      ...this.decoderArgs,
      '-ctl',
      this.fifo,
      ...(this.fsgFifo ? ['-fsgctl', this.fsgFifo] : []),
      '-hypseg',
      '/dev/stdout',
    ]
      .map(quote)
      .join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    child.stdout!.on('data', (data: Buffer) => {
      this.buffer += data.toString('utf8');
      let newline = this.buffer.indexOf('\n');
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline).replace(/\r$/, '');
        this.buffer = this.buffer.slice(newline + 1);
        const id = line.split(' ', 1)[0]!;
        this.waiting.get(id)?.resolve(line);
        this.waiting.delete(id);
        newline = this.buffer.indexOf('\n');
      }
    });
    child.once('exit', (code) => {
      if (this.child === child) this.child = undefined;
      this.ctl?.destroy();
      this.ctl = undefined;
      this.fsgCtl?.destroy();
      this.fsgCtl = undefined;
      for (const w of this.waiting.values()) w.reject(new Error(`pocketsphinx_batch exited (${code})`));
      this.waiting.clear();
    });
    // Opening a FIFO for writing waits for the reader; a stream opens it off the main thread.
    this.ctl = createWriteStream(this.fifo);
    this.ctl.on('error', () => child.kill());
    if (this.fsgFifo) {
      this.fsgCtl = createWriteStream(this.fsgFifo);
      this.fsgCtl.on('error', () => child.kill());
    }
  }

  /** Decodes `<dir>/<id>.wav` (with `fsg`, a per-utterance grammar file); resolves to its hypseg line. */
  decode(id: string, timeoutMs: number, fsg?: string): Promise<string> {
    if (!this.child) this.start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no result within ${timeoutMs} ms`));
        this.child?.kill(); // a stuck decoder is replaced on the next call
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      if (this.fsgCtl) this.fsgCtl.write(`${fsg}\n`);
      this.ctl!.write(`${id}\n`);
    });
  }

  close(): void {
    this.ctl?.end();
    this.fsgCtl?.end();
    this.child?.kill();
    this.child = undefined;
  }
}
