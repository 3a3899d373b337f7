import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { MAX_LINE_BYTES } from './contract.js';

/**
 * One physical line of a raw file: its text, or why it could not be read. Lines are split on
 * `\n` (a trailing `\r` is dropped), numbered from 1, and a last line without a newline counts.
 */
export type RawLine = { line: number; text: string } | { line: number; bad: 'oversize' | 'utf8'; raw: string };

const NL = 0x0a;
const CR = 0x0d;
const HEAD_BYTES = 1024;
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface ReadLinesOptions {
  maxLineBytes?: number;
  chunkBytes?: number;
}

/**
 * Streams the lines of a file from its bytes. Each line is decoded with a fatal UTF-8 decoder
 * (a chunk that is valid UTF-8 as a whole is decoded in one go, which is the same thing, faster);
 * a line over `maxLineBytes` is reported, not buffered.
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<RawLine> {
  const { maxLineBytes = MAX_LINE_BYTES, chunkBytes = 1 << 20 } = options;
  let lineNo = 0;
  let carry: Buffer | undefined; // start of a line that continues in the next chunk
  let oversize: { head: Buffer } | undefined; // inside a too-long line: skip to its end

  function* emit(bytes: Buffer): Generator<RawLine> {
    lineNo++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    const b = bytes.subarray(0, end);
    if (b.length > maxLineBytes) {
      yield { line: lineNo, bad: 'oversize', raw: b.subarray(0, HEAD_BYTES).toString('utf8') };
      return;
    }
    try {
      let text = fatal.decode(b);
      if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      yield { line: lineNo, text };
    } catch {
      yield { line: lineNo, bad: 'utf8', raw: b.toString('utf8') };
    }
  }

  /** Complete lines in `buf` (every byte up to and including its last newline). */
  function* complete(buf: Buffer): Generator<RawLine> {
    if (isUtf8(buf)) {
      const text = buf.toString('utf8');
      let start = 0;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
        let s = text.slice(start, i);
        start = i + 1;
        lineNo++;
        if (s.charCodeAt(s.length - 1) === CR) s = s.slice(0, -1);
        // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: measure only when it could be too long.
        if (s.length > maxLineBytes || (s.length * 3 > maxLineBytes && Buffer.byteLength(s) > maxLineBytes)) {
          yield { line: lineNo, bad: 'oversize', raw: s.slice(0, HEAD_BYTES) };
          continue;
        }
        if (lineNo === 1 && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
        yield { line: lineNo, text: s };
      }
      return;
    }
    let start = 0;
    for (let i = buf.indexOf(NL); i !== -1; i = buf.indexOf(NL, start)) {
      yield* emit(buf.subarray(start, i));
      start = i + 1;
    }
  }

  for await (const chunk of createReadStream(file, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    let buf = chunk;
    if (oversize) {
      const nl = buf.indexOf(NL);
      if (nl === -1) continue;
      lineNo++;
      yield { line: lineNo, bad: 'oversize', raw: oversize.head.toString('utf8') };
      oversize = undefined;
      buf = buf.subarray(nl + 1);
    } else if (carry) {
      buf = Buffer.concat([carry, buf]);
      carry = undefined;
    }
    const last = buf.lastIndexOf(NL);
    if (last !== -1) yield* complete(buf.subarray(0, last + 1));
    const rest = buf.subarray(last + 1);
    if (rest.length > maxLineBytes + 1) oversize = { head: Buffer.from(rest.subarray(0, HEAD_BYTES)) };
    else if (rest.length > 0) carry = Buffer.from(rest);
  }
  if (oversize) {
    lineNo++;
    yield { line: lineNo, bad: 'oversize', raw: oversize.head.toString('utf8') };
  } else if (carry) yield* emit(carry);
}
