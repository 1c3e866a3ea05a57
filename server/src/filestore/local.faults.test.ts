// Local backend faults: a full disk (a 1 MiB tmpfs when this process may mount one, and
// always an injected ENOSPC) must give a clear error, leave no temp file behind and keep
// the previous version of an overwritten file.
// Run: node --import tsx --test server/src/filestore/local.faults.test.ts

import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {buffer} from 'node:stream/consumers';
import {after, before, describe, it} from 'node:test';
import {FileStoreError} from './backend.ts';
import {LocalBackend} from './local.ts';
import {generatedStream} from './testing/data.ts';

const MiB = 1024 * 1024;

async function assertFullDiskHandled(b: LocalBackend, logs: string[]): Promise<void> {
  await b.write('d/keep', Buffer.from('previous version'));
  const err = await b.write('d/keep', generatedStream(4 * MiB, 1).stream).catch((e: unknown) => e);
  assert.ok(err instanceof FileStoreError, String(err));
  assert.equal(err.op, 'write');
  assert.equal(err.path, 'd/keep');
  assert.match(err.message, /ENOSPC.*no space left on the device/);
  assert.deepEqual(await fs.readdir(path.join(b.root, 'd')), ['keep'], 'temp file removed');
  assert.deepEqual(await buffer(await b.read('d/keep')), Buffer.from('previous version'));
  const err2 = await b.write('d/new', Buffer.alloc(2 * MiB)).catch((e: unknown) => e);
  assert.ok(err2 instanceof FileStoreError && /ENOSPC/.test(err2.message));
  assert.equal(await b.stat('d/new'), null);
  assert.deepEqual(await fs.readdir(path.join(b.root, 'd')), ['keep']);
  assert.deepEqual(logs, []);
}

describe('local backend: disk full', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'filestore-enospc-'));
  });
  after(() => fs.rm(dir, {recursive: true, force: true}));

  it('on a full 1 MiB tmpfs', async (t) => {
    const mnt = path.join(dir, 'tmpfs');
    await fs.mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], {stdio: 'ignore'});
    } catch {
      t.skip('cannot mount a tmpfs here (needs root); the injected ENOSPC test covers the same path');
      return;
    }
    try {
      const logs: string[] = [];
      await assertFullDiskHandled(new LocalBackend(mnt, {logger: {warn: (m) => logs.push(m)}}), logs);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('with ENOSPC injected after 1 MiB', async () => {
    let written = 0;
    const logs: string[] = [];
    const b = new LocalBackend(path.join(dir, 'injected'), {
      logger: {warn: (m) => logs.push(m)},
      async writeChunk(fh, chunk) {
        if (written + chunk.length > MiB) {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28, syscall: 'write'});
        }
        written += chunk.length;
        await fh.write(chunk);
      },
    });
    await assertFullDiskHandled(b, logs);
  });

  it('a relative root is refused (the caller resolves it against a stated base)', () => {
    assert.throws(() => new LocalBackend('data'), FileStoreError);
  });

  it('nothing is created in the working directory or outside the root', async () => {
    const root = path.join(dir, 'root');
    const b = new LocalBackend(root);
    const before = await fs.readdir(dir);
    await b.write('x/y', Buffer.from('1'));
    for (const p of ['../outside', '../../etc/x']) await assert.rejects(b.write(p, Buffer.from('1')), FileStoreError);
    assert.deepEqual((await fs.readdir(dir)).sort(), [...new Set([...before, 'root'])].sort());
    assert.deepEqual(await fs.readdir(root), ['x']);
  });
});

describe('local backend: writes cut short by a kill -9', () => {
  it('sweepAbandoned removes old temp files only, below the prefix, and keeps finished files', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'filestore-sweep-'));
    try {
      const b = new LocalBackend(dir);
      await b.write('p/data/01ABC/index', Buffer.from('finished'));
      const old = path.join(dir, 'p/data/01ABC/.chunks.tmp-0123456789ab');
      const young = path.join(dir, 'p/dump/j1/.x.tar.gz.tmp-ba9876543210');
      const outside = path.join(dir, 'other/.y.tmp-aaaaaaaaaaaa');
      for (const f of [old, young, outside]) {
        await fs.mkdir(path.dirname(f), {recursive: true});
        await fs.writeFile(f, 'partial');
      }
      const now = Date.now();
      await fs.utimes(old, new Date(now - 2 * 86_400_000), new Date(now - 2 * 86_400_000));
      await fs.utimes(outside, new Date(now - 2 * 86_400_000), new Date(now - 2 * 86_400_000));
      assert.equal(await b.sweepAbandoned('p', 86_400_000, now), 1);
      await assert.rejects(fs.stat(old), /ENOENT/);
      await fs.stat(young);
      await fs.stat(outside);
      assert.deepEqual(await buffer(await b.read('p/data/01ABC/index')), Buffer.from('finished'));
      assert.equal(await b.sweepAbandoned('absent', 0, now), 0);
    } finally {
      await fs.rm(dir, {recursive: true, force: true});
    }
  });
});
