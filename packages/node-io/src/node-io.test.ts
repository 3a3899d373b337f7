import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffError } from '@skiff/core';
import {
  hashFiles,
  ndjsonFiles,
  ndjsonLines,
  sha256,
  sha256File,
  splitCsvLine,
  verifyFiles,
  withFileLock,
  writeFileAtomic,
  writeFilesAtomic,
} from './index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-node-io-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('creates the folder, replaces the content and leaves no temp file', async () => {
    const file = path.join(dir, 'a', 'b.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, new TextEncoder().encode('two'));
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(path.dirname(file))).toEqual(['b.json']);
  });

  it('removes its temp file when the rename fails', async () => {
    const target = path.join(dir, 'taken');
    await mkdir(path.join(target, 'child'), { recursive: true }); // a non-empty folder cannot be renamed over
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['taken']);
  });

  it('writes artifact files in order and returns their names', async () => {
    const names = await writeFilesAtomic(dir, [
      ['model.json', '{}'],
      ['weights.bin', new Uint8Array([1, 2, 3])],
    ]);
    expect(names).toEqual(['model.json', 'weights.bin']);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
  });
});

describe('file hashes', () => {
  it('hashes a file as its bytes, and a folder file by file', async () => {
    await writeFile(path.join(dir, 'x.txt'), 'hello');
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'sub', 'y.txt'), '');
    expect(await sha256File(path.join(dir, 'x.txt'))).toBe(sha256('hello'));
    expect(sha256('hello')).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    const files = await hashFiles(dir);
    expect(Object.keys(files)).toEqual(['sub/y.txt', 'x.txt']);
    await expect(verifyFiles(dir, files, 'v0001')).resolves.toBeUndefined();
  });

  it('refuses a changed byte, an extra file and an entry outside the folder', async () => {
    await writeFile(path.join(dir, 'x.txt'), 'hello');
    const files = await hashFiles(dir);
    await writeFile(path.join(dir, 'x.txt'), 'hellO');
    await expect(verifyFiles(dir, files, 'v1')).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
    await writeFile(path.join(dir, 'x.txt'), 'hello');
    await writeFile(path.join(dir, 'extra'), '');
    await expect(verifyFiles(dir, files, 'v1')).rejects.toThrow(/does not list: extra/);
    await expect(verifyFiles(dir, { '../x': sha256('') }, 'v1')).rejects.toBeInstanceOf(SkiffError);
  });
});

describe('NDJSON', () => {
  it('lists the log files in name order and streams their non-blank lines', async () => {
    await writeFile(path.join(dir, 'b.ndjson'), '{"n":2}\n\n{"n":3}\r\n');
    await writeFile(path.join(dir, 'a.ndjson'), '{"n":1}\n');
    await writeFile(path.join(dir, 'c.tmp'), 'x\n');
    const files = await ndjsonFiles(dir);
    expect(files.map((f) => path.basename(f))).toEqual(['a.ndjson', 'b.ndjson']);
    const lines: string[] = [];
    for (const f of files) for await (const l of ndjsonLines(f)) lines.push(l);
    expect(lines).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(await ndjsonFiles(path.join(dir, 'missing'))).toEqual([]);
  });
});

describe('splitCsvLine', () => {
  it('follows RFC 4180 quoting', () => {
    expect(splitCsvLine('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(splitCsvLine('"a,b","say ""hi""",c')).toEqual(['a,b', 'say "hi"', 'c']);
    expect(splitCsvLine('1\t"x\ty"', '\t')).toEqual(['1', 'x\ty']);
  });
});

describe('withFileLock', () => {
  it('runs callers one at a time', async () => {
    const lock = path.join(dir, 'lock');
    const order: string[] = [];
    const run = (id: string) =>
      withFileLock(lock, async () => {
        order.push(`${id}+`);
        await new Promise((r) => setTimeout(r, 20));
        order.push(`${id}-`);
      });
    await Promise.all([run('a'), run('b')]);
    expect([order.join(' ')]).toContain(order[0] === 'a+' ? 'a+ a- b+ b-' : 'b+ b- a+ a-');
  });
});
