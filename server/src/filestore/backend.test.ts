// One suite, two backends: LocalBackend on a temp directory and S3Backend on s3rver
// (in-process, 127.0.0.1). Run: node --import tsx --test server/src/filestore/backend.test.ts

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {buffer} from 'node:stream/consumers';
import {after, before, describe, it} from 'node:test';
import {type FileBackend, FileNotFoundError, FileStoreError} from './backend.ts';
import {LocalBackend} from './local.ts';
import {S3Backend} from './s3.ts';
import {forceGc, generatedStream, rssSampler, sha256} from './testing/data.ts';
import {startS3rver, TEST_ACCESS_KEY, TEST_BUCKET, TEST_SECRET_KEY} from './testing/s3.ts';

const MiB = 1024 * 1024;

interface Fixture {
  backend: FileBackend;
  /** Raw directory listing of everything the backend stored (temp files included, for local). */
  rawFiles(): Promise<string[]>;
  /** Bytes the store holds on disk (local root, or s3rver's directory with its multipart parts). */
  storedBytes(): Promise<number>;
  close(): Promise<void>;
}

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, {withFileTypes: true}).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else out.push(path.relative(base, p));
  }
  return out;
}

// A file that vanishes between readdir and stat was renamed (temp file → final name, which
// the listing missed): counting it as 0 would report a whole file as not stored, so the
// directory is listed again.
async function du(dir: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    let n = 0;
    let vanished = false;
    for (const e of await fs.readdir(dir, {withFileTypes: true}).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        n += await du(p);
        continue;
      }
      const st = await fs.stat(p).catch(() => null);
      if (st) n += st.size;
      else vanished = true;
    }
    if (!vanished || attempt >= 5) return n;
  }
}

const fixtures: {name: string; open: () => Promise<Fixture>}[] = [
  {
    name: 'local',
    async open() {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'filestore-local-'));
      const root = path.join(dir, 'root');
      return {
        backend: new LocalBackend(root),
        rawFiles: () => walk(root),
        storedBytes: () => du(root),
        close: () => fs.rm(dir, {recursive: true, force: true}),
      };
    },
  },
  {
    name: 'amazons3 (s3rver)',
    async open() {
      const srv = await startS3rver();
      const backend = new S3Backend(
        {
          bucket: TEST_BUCKET,
          pathPrefix: '/team-a//mattermost/',
          endpoint: srv.endpoint,
          ssl: false,
          accessKeyId: TEST_ACCESS_KEY,
          secretAccessKey: TEST_SECRET_KEY,
          requestTimeoutMs: 10_000,
        },
        {queueSize: 1, logger: process.env.FILESTORE_TEST_LOG ? {warn: (m, f) => process.stderr.write(`${m} ${JSON.stringify(f)}\n`)} : undefined},
      );
      return {
        backend,
        rawFiles: async () => (await backend.list('')).map((f) => f.path),
        storedBytes: () => du(srv.directory),
        async close() {
          backend.destroy();
          await srv.close();
        },
      };
    },
  },
];

const read = async (b: FileBackend, p: string, range?: {start: number; end: number}) => buffer(await b.read(p, range));

for (const fx of fixtures) {
  describe(`file backend: ${fx.name}`, () => {
    let f: Fixture;
    let b: FileBackend;
    before(async () => {
      f = await fx.open();
      b = f.backend;
    });
    after(() => f.close());

    it('writes and reads back a small buffer; stat reports it', async () => {
      const data = Buffer.from('hello, file store\n');
      assert.equal(await b.write('a/hello.txt', data), data.length);
      assert.deepEqual(await read(b, 'a/hello.txt'), data);
      const st = await b.stat('a/hello.txt');
      assert.equal(st?.path, 'a/hello.txt');
      assert.equal(st?.size, data.length);
      assert.ok(Math.abs((st?.modTime ?? 0) - Date.now()) < 60_000);
    });

    it('writes an empty file (buffer and stream)', async () => {
      assert.equal(await b.write('empty/buf', Buffer.alloc(0)), 0);
      assert.equal(await b.write('empty/stream', Readable.from([])), 0);
      assert.equal((await read(b, 'empty/buf')).length, 0);
      assert.equal((await read(b, 'empty/stream')).length, 0);
      assert.equal((await b.stat('empty/stream'))?.size, 0);
    });

    // A streamed write must not buffer the file: while the generator produces, the bytes it
    // is ahead of what has reached the disk / s3rver ("lead") stay bounded — local writes
    // chunk by chunk; S3 holds at most (queueSize + 1) parts of 5 MiB (queueSize 1 here).
    // Peak RSS is printed too, but it is noisy in a test process (garbage chunks are freed
    // lazily, and the first big write grows the heap for the rest); bench/filestore-write.ts
    // measures RSS properly.
    for (const mib of [20, 64]) {
      it(`streams ${mib} MiB from a generator without buffering it whole`, async () => {
        const size = mib * MiB;
        const bound = (fx.name === 'local' ? 1 : 11) * MiB;
        const g = generatedStream(size, mib);
        const stored0 = await f.storedBytes();
        let maxLead = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const produced = g.produced();
            const stored = (await f.storedBytes()) - stored0;
            maxLead = Math.max(maxLead, produced - stored);
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        forceGc();
        const base = process.memoryUsage.rss();
        const rss = rssSampler(50);
        let n: number;
        let peak: number;
        try {
          n = await b.write(`big/${mib}mib.bin`, g.stream, {size});
        } finally {
          peak = rss.stop();
          sampling = false;
          await sampler;
        }
        assert.equal(n, size);
        const got = await read(b, `big/${mib}mib.bin`);
        assert.equal(got.length, size);
        assert.equal(sha256(got), g.digest());
        process.stdout.write(
          `# ${fx.name}: ${mib} MiB streamed write: max lead of the source over stored bytes ${(maxLead / MiB).toFixed(1)} MiB ` +
            `(bound ${bound / MiB}), peak RSS delta ${((peak - base) / MiB).toFixed(1)} MiB\n`,
        );
        assert.ok(maxLead <= bound, `the source ran ${(maxLead / MiB).toFixed(1)} MiB ahead of the store`);
        await b.remove(`big/${mib}mib.bin`);
      });
    }

    it('reads byte ranges (inclusive end, clamped to the size)', async () => {
      const data = Buffer.from(Array.from({length: 1000}, (_, i) => i % 251));
      await b.write('r/range.bin', data);
      assert.deepEqual(await read(b, 'r/range.bin', {start: 10, end: 19}), data.subarray(10, 20));
      assert.deepEqual(await read(b, 'r/range.bin', {start: 0, end: 0}), data.subarray(0, 1));
      assert.deepEqual(await read(b, 'r/range.bin', {start: 990, end: 5000}), data.subarray(990));
      await assert.rejects(read(b, 'r/range.bin', {start: 1000, end: 1001}), FileStoreError);
      await assert.rejects(read(b, 'r/range.bin', {start: 5, end: 4}), FileStoreError);
      await assert.rejects(read(b, 'r/missing.bin', {start: 0, end: 1}), FileNotFoundError);
    });

    it('stat: null for absent files and for directories', async () => {
      await b.write('s/d/file', Buffer.from('x'));
      assert.equal(await b.stat('s/nope'), null);
      assert.equal(await b.stat('s/d'), null);
      assert.equal(await b.stat('s/d/file/deeper'), null);
    });

    it('lists recursively, relative to the store root', async () => {
      await b.write('l/x/1', Buffer.from('1'));
      await b.write('l/x/y/2', Buffer.from('22'));
      await b.write('l/3', Buffer.from('333'));
      await b.write('lx/not-below-l', Buffer.from('4'));
      const got = (await b.list('l')).map((i) => [i.path, i.size]).sort();
      assert.deepEqual(got, [['l/3', 3], ['l/x/1', 1], ['l/x/y/2', 2]]);
      assert.deepEqual((await b.list('l/x/')).map((i) => i.path).sort(), ['l/x/1', 'l/x/y/2']);
      assert.deepEqual(await b.list('no/such/dir'), []);
      assert.deepEqual(await b.list('l/3'), []); // a file is not a directory prefix
      const all = (await b.list('')).map((i) => i.path);
      assert.ok(all.includes('l/x/y/2') && all.includes('lx/not-below-l') && all.includes('a/hello.txt'));
    });

    it('lists and removes more than 1000 files (S3 pagination, DeleteObjects batches)', async () => {
      const n = 1105;
      const names = Array.from({length: n}, (_, i) => `many/${String(i % 7)}/f${i}`);
      for (let i = 0; i < n; i += 48) {
        await Promise.all(names.slice(i, i + 48).map((p) => b.write(p, Buffer.from(p))));
      }
      const listed = await b.list('many');
      assert.equal(listed.length, n);
      assert.deepEqual(listed.map((i) => i.path).sort(), [...names].sort());
      assert.deepEqual(await b.listDirs('many'), ['0', '1', '2', '3', '4', '5', '6']);
      await b.removeAll('many');
      assert.deepEqual(await b.list('many'), []);
      assert.deepEqual(await b.listDirs('many'), []);
    });

    it('lists immediate sub-directories (block directories)', async () => {
      const data = 'plugin-data/mattermost-plugin-metrics/data';
      for (const ulid of ['01HZZZ0000000000000000000B', '01HZZZ0000000000000000000A']) {
        await b.write(`${data}/${ulid}/meta.json`, Buffer.from('{}'));
        await b.write(`${data}/${ulid}/chunks/000001`, Buffer.from('c'));
      }
      await b.write(`${data}/loose-file`, Buffer.from('f'));
      assert.deepEqual(await b.listDirs(data), ['01HZZZ0000000000000000000A', '01HZZZ0000000000000000000B']);
      assert.deepEqual(await b.listDirs(`${data}/01HZZZ0000000000000000000A`), ['chunks']);
      assert.deepEqual(await b.listDirs('plugin-data/nothing'), []);
      if (fx.name === 'local') {
        // s3rver prunes directories below a common prefix before it has seen an object in
        // them, so it reports no common prefix for keys two levels down (AWS S3 does).
        assert.ok((await b.listDirs('')).includes('plugin-data'));
      }
    });

    it('removes one file; absent is fine', async () => {
      await b.write('rm/one', Buffer.from('1'));
      await b.remove('rm/one');
      assert.equal(await b.stat('rm/one'), null);
      await b.remove('rm/one');
      await b.remove('rm/never/was');
    });

    it('removeAll removes a directory tree and nothing beside it; refuses the root', async () => {
      await b.write('ra/a/1', Buffer.from('1'));
      await b.write('ra/a/b/2', Buffer.from('2'));
      await b.write('ra/ab/3', Buffer.from('3'));
      await b.write('ra/a.txt', Buffer.from('4'));
      await b.removeAll('ra/a');
      assert.deepEqual((await b.list('ra')).map((i) => i.path).sort(), ['ra/a.txt', 'ra/ab/3']);
      await b.removeAll('ra/does-not-exist');
      await assert.rejects(b.removeAll(''), FileStoreError);
      await assert.rejects(b.removeAll('/'), FileStoreError);
    });

    it('overwrites a file', async () => {
      await b.write('ow/f', Buffer.alloc(100, 1));
      await b.write('ow/f', Readable.from([Buffer.from('short')]));
      assert.deepEqual(await read(b, 'ow/f'), Buffer.from('short'));
      assert.equal((await b.stat('ow/f'))?.size, 5);
    });

    it('not found: read rejects with FileNotFoundError', async () => {
      await assert.rejects(b.read('nf/none'), (e: unknown) => e instanceof FileNotFoundError && e.path === 'nf/none');
    });

    it('rejects path traversal, absolute paths, NUL and empty paths', async () => {
      for (const p of ['../escape', 'a/../../escape', '/etc/passwd', 'a/./b', 'a\0b', '', 'a\\..\\b']) {
        await assert.rejects(b.write(p, Buffer.from('x')), FileStoreError, `write ${JSON.stringify(p)}`);
        await assert.rejects(b.read(p), FileStoreError, `read ${JSON.stringify(p)}`);
        await assert.rejects(b.stat(p), FileStoreError);
        await assert.rejects(b.remove(p), FileStoreError);
      }
      await assert.rejects(b.list('../x'), FileStoreError);
      await assert.rejects(b.listDirs('/abs'), FileStoreError);
      await assert.rejects(b.removeAll('x/../..'), FileStoreError);
    });

    it('a source that fails or is short leaves nothing behind', async () => {
      const failing = Readable.from(
        (async function* () {
          yield Buffer.alloc(64 * 1024, 1);
          throw new Error('source exploded');
        })(),
      );
      await assert.rejects(b.write('bad/failing', failing), (e: unknown) => e instanceof FileStoreError && /source exploded/.test(e.message));
      await assert.rejects(b.write('bad/short', Readable.from([Buffer.alloc(10)]), {size: 11}), /expected 11 bytes but the source gave 10/);
      await assert.rejects(b.write('bad/short-buf', Buffer.alloc(10), {size: 11}), FileStoreError);
      assert.equal(await b.stat('bad/failing'), null);
      assert.equal(await b.stat('bad/short'), null);
      assert.deepEqual((await f.rawFiles()).filter((p) => p.startsWith('bad')), []);
    });

    it('a failed overwrite keeps the previous content', async () => {
      await b.write('keep/f', Buffer.from('old'));
      await assert.rejects(b.write('keep/f', Readable.from([Buffer.from('new')]), {size: 4}), FileStoreError);
      assert.deepEqual(await read(b, 'keep/f'), Buffer.from('old'));
    });

    it('an aborted write rejects and leaves nothing', async () => {
      const ac = new AbortController();
      const g = generatedStream(12 * MiB, 3);
      const p = b.write('abort/f', g.stream, {signal: ac.signal});
      setTimeout(() => ac.abort(new Error('shutting down')), 20);
      await assert.rejects(p, (e: unknown) => e instanceof FileStoreError && /aborted/.test(e.message));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await b.stat('abort/f'), null);
      assert.deepEqual((await f.rawFiles()).filter((x) => x.startsWith('abort')), []);
    });

    it('check() writes, reads back and deletes a probe file', async () => {
      await b.check('plugin-data/mattermost-plugin-metrics');
      assert.deepEqual(await b.list('plugin-data/mattermost-plugin-metrics/.check'), []);
      assert.ok(!(await b.list('plugin-data/mattermost-plugin-metrics')).some((i) => i.path.includes('.check-')));
    });

    it('describe() names the backend without secrets', () => {
      const d = b.describe();
      assert.match(d, new RegExp(`^${b.kind}`));
      assert.ok(!d.includes(TEST_SECRET_KEY));
    });
  });
}
