import { execFile, spawn } from 'node:child_process';

/** Spoken replies with espeak-ng (Debian). Text goes in on stdin so it can never be read as an option. */
export interface SpeakOptions {
  voice: string;
  wordsPerMinute: number;
}

export function synthesize(text: string, o: SpeakOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'espeak-ng',
      ['--stdout', '-v', o.voice, '-s', String(o.wordsPerMinute)],
      { encoding: 'buffer', maxBuffer: 64 << 20, timeout: 30000 },
      (error, stdout) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(new Error(missing ? 'espeak-ng is not installed' : `espeak-ng failed: ${error.message}`));
        } else resolve(stdout);
      },
    );
    child.stdin?.end(text);
  });
}

/** Plays a WAV on the local sound card with ALSA's aplay; resolves when playback ends. */
export function play(wav: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('aplay', ['-q', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', (e) => reject(new Error(`aplay: ${e.message}`)));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`aplay exited ${code}: ${stderr.trim()}`)),
    );
    child.stdin.end(wav);
  });
}
