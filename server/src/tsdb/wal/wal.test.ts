import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test} from 'node:test';
import {Encbuf} from '../encoding/mod.ts';
import {
  type CheckpointSeries,
  type Logger,
  type RefChunk,
  type RefSeries,
  type ReplayVisitor,
  SEGMENT_HEADER_LEN,
  SampleColumns,
  SamplesRecordEncoder,
  Wal,
  decodeSamples,
  decodeSeries,
  encodeSeries,
  scanSegment,
  segmentName,
} from './mod.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-wal-'));
after(() => fs.rmSync(root, {recursive: true, force: true}));
let n = 0;
const tmpDir = (): string => path.join(root, `w${n++}`);

interface Captured {
  series: RefSeries[];
  samples: {ref: number; t: number; hi: number; lo: number}[];
  minValid: number[];
  chunks: RefChunk[];
}

function capture(): {v: ReplayVisitor; c: Captured} {
  const c: Captured = {series: [], samples: [], minValid: [], chunks: []};
  const v: ReplayVisitor = {
    series: (s) => c.series.push(...s.map((x) => ({ref: x.ref, labels: [...x.labels]}))),
    samples: (cols) => {
      for (let i = 0; i < cols.n; i++) c.samples.push({ref: cols.ref[i], t: cols.t[i], hi: cols.hi[i], lo: cols.lo[i]});
    },
    minValidTime: (t) => c.minValid.push(t),
    chunks: (ch) => c.chunks.push(...ch.map((x) => ({ref: x.ref, data: x.data.slice()}))),
  };
  return {v, c};
}

function recLogger(): Logger & {lines: {level: string; msg: string; fields?: Record<string, unknown>}[]} {
  const lines: {level: string; msg: string; fields?: Record<string, unknown>}[] = [];
  const mk =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push({level, msg, fields});
    };
  return {lines, debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error')};
}

/** One batch = a series record for `ref` + a samples record of k samples. */
function batch(ref: number, t0: number, k: number): Uint8Array[] {
  const e = new Encbuf();
  encodeSeries(e, [{ref, labels: [{name: '__name__', value: `m${ref}`}]}]);
  const s = new SamplesRecordEncoder();
  for (let i = 0; i < k; i++) s.add(ref, t0 + i * 1000, 0x40000000 + i, i);
  return [e.get().slice(), s.finish().slice()];
}

describe('records', () => {
  test('series and samples round trip (negative deltas, big refs, unicode)', () => {
    const e = new Encbuf();
    const series: RefSeries[] = [
      {ref: 1, labels: [{name: '__name__', value: 'up'}]},
      {ref: 2 ** 40, labels: [{name: 'a', value: 'ü😀'}, {name: 'b', value: ''.padEnd(300, 'x')}]},
    ];
    encodeSeries(e, series);
    const buf = e.get();
    // payload after len(4)+type(1), before crc(4)
    assert.deepEqual(decodeSeries(buf.subarray(5, buf.length - 4)), series);
    const s = new SamplesRecordEncoder();
    const want = [
      {ref: 10, t: 1_700_000_000_000, hi: 0x7ff00000, lo: 2},
      {ref: 3, t: 1_699_999_000_000, hi: 0xffffffff, lo: 0},
      {ref: 2 ** 40, t: -5, hi: 0, lo: 1},
    ];
    for (const w of want) s.add(w.ref, w.t, w.hi, w.lo);
    const r = s.finish();
    const cols = decodeSamples(r.subarray(5, r.length - 4), new SampleColumns());
    assert.equal(cols.n, 3);
    for (let i = 0; i < 3; i++) assert.deepEqual({ref: cols.ref[i], t: cols.t[i], hi: cols.hi[i], lo: cols.lo[i]}, want[i]);
  });
});

describe('wal', () => {
  test('round trip, replay on reopen, new segment per open', () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'never'});
    wal.log(batch(1, 0, 3));
    wal.log(batch(2, 5000, 2));
    wal.close();
    const {v, c} = capture();
    const {wal: w2, stats} = Wal.open(dir, v);
    assert.equal(stats.records, 4);
    assert.deepEqual(
      c.series.map((s) => s.ref),
      [1, 2],
    );
    assert.equal(c.samples.length, 5);
    assert.deepEqual(c.samples[3], {ref: 2, t: 5000, hi: 0x40000000, lo: 0});
    assert.equal(w2.segment, 1);
    w2.close();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['00000000', '00000001']);
  });

  test('torn tail at every byte offset of the last record: truncated to the last good record, logged', () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'never'});
    wal.log(batch(1, 0, 4));
    wal.close();
    const file = path.join(dir, segmentName(0));
    const good = fs.readFileSync(file);
    const second = batch(2, 9000, 3);
    const full = Buffer.concat([good, ...second]);
    const lastStart = good.length + second[0].length; // start of the last (samples) record
    for (let cut = lastStart; cut < full.length; cut++) {
      const d = tmpDir();
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, segmentName(0)), full.subarray(0, cut));
      const log = recLogger();
      const {v, c} = capture();
      const {wal: w, stats} = Wal.open(d, v, {fsync: 'never', logger: log});
      w.close();
      assert.equal(stats.tornTails, cut === lastStart ? 0 : 1, `cut ${cut}`);
      assert.equal(stats.corruptions, 0);
      assert.equal(c.samples.length, 4, `cut ${cut}`);
      assert.equal(c.series.length, 2);
      assert.equal(fs.statSync(path.join(d, segmentName(0))).size, lastStart);
      if (cut > lastStart) assert.ok(log.lines.some((l) => l.level === 'warn' && /torn tail/.test(l.msg)));
      fs.rmSync(d, {recursive: true});
    }
  });

  test('zero-filled tail (power loss) is a torn tail', () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'never'});
    wal.log(batch(1, 0, 4));
    wal.close();
    const file = path.join(dir, segmentName(0));
    const size = fs.statSync(file).size;
    fs.appendFileSync(file, new Uint8Array(4096));
    const {v, c} = capture();
    const {wal: w, stats} = Wal.open(dir, v, {fsync: 'never'});
    w.close();
    assert.equal(stats.tornTails, 1);
    assert.equal(c.samples.length, 4);
    assert.equal(fs.statSync(file).size, size);
  });

  test('flipped byte mid-file: keeps what is before, reports corruption, drops later segments, never throws', () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'never', segmentSize: 1024});
    for (let i = 1; i <= 30; i++) wal.log(batch(i, i * 100_000, 10));
    wal.close();
    const segs = fs.readdirSync(dir).sort();
    assert.ok(segs.length >= 5, `rotation produced ${segs.length} segments`);
    // Count records per segment to know what survives.
    const perSeg = segs.map((s) => {
      let k = 0;
      scanSegment(fs.readFileSync(path.join(dir, s)), () => k++, () => true);
      return k;
    });
    const victim = path.join(dir, segs[2]);
    const buf = fs.readFileSync(victim);
    // First record of segment 2 starts at the header; flip a byte inside its payload.
    buf[SEGMENT_HEADER_LEN + 12] ^= 0x5a;
    fs.writeFileSync(victim, buf);
    const log = recLogger();
    const {v, c} = capture();
    const {wal: w, stats} = Wal.open(dir, v, {fsync: 'never', logger: log});
    w.close();
    assert.equal(stats.corruptions, 1);
    assert.equal(stats.droppedSegments, segs.length - 3);
    assert.equal(c.series.length + c.samples.length / 10, perSeg[0] + perSeg[1]);
    assert.ok(log.lines.some((l) => l.level === 'error' && /corrupt segment/.test(l.msg)));
    // The next open sees a clean log.
    const again = Wal.open(dir, null, {fsync: 'never'});
    again.wal.close();
    assert.equal(again.stats.corruptions + again.stats.tornTails, 0);
  });

  test('segment rotation keeps batches whole', () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'never', segmentSize: 2048});
    for (let i = 1; i <= 50; i++) wal.log(batch(i, i, 20));
    wal.close();
    for (const s of fs.readdirSync(dir)) {
      const r = scanSegment(fs.readFileSync(path.join(dir, s)), () => {}, () => true);
      assert.equal(r.problem, null);
      assert.equal(r.records % 2, 0, 'series+samples pairs never split across segments');
    }
    const {v, c} = capture();
    Wal.open(dir, v).wal.close();
    assert.equal(c.samples.length, 50 * 20);
  });

  test('fsync policies: interval syncs in the background, always syncs inline', async () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'interval', fsyncIntervalMs: 20});
    const before = Date.now();
    wal.log(batch(1, 0, 1));
    for (let i = 0; i < 50 && wal.lastSyncedAt < before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(wal.lastSyncedAt >= before, 'background fsync ran');
    wal.close();
    const {wal: w2} = Wal.open(tmpDir(), null, {fsync: 'always'});
    const t = Date.now();
    w2.log(batch(1, 0, 1));
    assert.ok(w2.lastSyncedAt >= t);
    w2.close();
  });

  test('truncate: checkpoint of live series + chunks, old segments deleted, replay = checkpoint + newer segments', async () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'never', segmentSize: 1024});
    for (let i = 1; i <= 20; i++) wal.log(batch(i, i * 1000, 5));
    const live: CheckpointSeries[] = [3, 7].map((ref) => ({
      ref,
      labels: [{name: '__name__', value: `m${ref}`}],
      chunks: () => [new Uint8Array([0, 1, 2, ref])],
    }));
    const res = await wal.truncate(12_345, live);
    wal.log(batch(99, 50_000, 2));
    wal.close();
    const names = fs.readdirSync(dir).sort();
    assert.deepEqual(names, [segmentName(res.checkpoint + 1), `checkpoint.${segmentName(res.checkpoint)}`].sort());
    const {v, c} = capture();
    const {wal: w2, stats} = Wal.open(dir, v);
    w2.close();
    assert.equal(stats.checkpoint, res.checkpoint);
    assert.deepEqual(c.minValid, [12_345]);
    assert.deepEqual(
      c.series.map((s) => s.ref),
      [3, 7, 99],
    );
    assert.deepEqual(
      c.chunks.map((x) => [x.ref, [...x.data]]),
      [
        [3, [0, 1, 2, 3]],
        [7, [0, 1, 2, 7]],
      ],
    );
    assert.equal(c.samples.length, 2);
  });

  test('crash leftovers: unfinished checkpoint ignored, covered segments removed', async () => {
    const dir = tmpDir();
    const {wal} = Wal.open(dir, null, {fsync: 'never'});
    wal.log(batch(1, 0, 3));
    const res = await wal.truncate(0, [{ref: 1, labels: [{name: '__name__', value: 'm1'}], chunks: () => []}]);
    wal.log(batch(2, 10_000, 1));
    wal.close();
    // Simulate: a crash left a covered segment behind and a half-written newer checkpoint.
    fs.writeFileSync(path.join(dir, segmentName(res.checkpoint)), fs.readFileSync(path.join(dir, segmentName(res.checkpoint + 1))));
    fs.mkdirSync(path.join(dir, `checkpoint.${segmentName(res.checkpoint + 1)}.tmp`));
    const {v, c} = capture();
    const {wal: w2, stats} = Wal.open(dir, v);
    w2.close();
    assert.equal(stats.corruptions, 0);
    assert.deepEqual(
      c.series.map((s) => s.ref),
      [1, 2],
    );
    assert.equal(c.samples.length, 1);
    assert.ok(!fs.readdirSync(dir).some((x) => x.endsWith('.tmp')));
    assert.ok(!fs.existsSync(path.join(dir, segmentName(res.checkpoint))));
  });
});
