import { Transform, type TransformCallback } from 'node:stream';

/**
 * Splits a byte stream into lines (without "\n" / "\r\n"), never holding more than `maxLineLength`
 * bytes: a longer line is dropped up to its newline and reported with an 'overflow' event. Written by
 * hand because @serialport/parser-readline buffers without limit, so a device that never sends a
 * newline would grow memory forever.
 */
export class LineSplitter extends Transform {
  private readonly maxLineLength: number;
  private pending = '';
  private discarding = false;

  constructor(maxLineLength = 256) {
    super({ readableObjectMode: true });
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1) throw new RangeError('maxLineLength');
    this.maxLineLength = maxLineLength;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    // latin1 maps each byte to one char, so a chunk boundary never splits a character
    let text = chunk.toString('latin1');
    while (text.length > 0) {
      const newline = text.indexOf('\n');
      const piece = newline === -1 ? text : text.slice(0, newline);
      text = newline === -1 ? '' : text.slice(newline + 1);
      if (!this.discarding) {
        if (this.pending.length + piece.length > this.maxLineLength) {
          this.discarding = true;
          this.pending = '';
          this.emit('overflow', this.maxLineLength);
        } else {
          this.pending += piece;
        }
      }
      if (newline !== -1) {
        if (!this.discarding) {
          const line = this.pending.endsWith('\r') ? this.pending.slice(0, -1) : this.pending;
          if (line.length > 0) this.push(line);
        }
        this.pending = '';
        this.discarding = false;
      }
    }
    done();
  }

  /** Bytes currently held for an unfinished line (for tests and health reports). */
  get buffered(): number {
    return this.pending.length;
  }
}
