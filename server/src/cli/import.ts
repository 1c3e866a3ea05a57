// mm-metrics import <openmetrics-file> <data-dir>: appends a file of timestamped
// samples through the store's own head, WAL and block path, then flushes to blocks.

import fs from 'node:fs';

import {parse, ParseError} from '../scrape/parser/mod.ts';
import {DB} from '../tsdb/db.ts';
import type {CliIO} from './io.ts';

export interface ImportResult {
  samples: number;
  appended: number;
  rejected: Record<string, number>;
  blocks: number;
}

const batchSize = 10_000;

export async function importFile(file: string, dataDir: string, io: CliIO): Promise<ImportResult> {
  const body = fs.readFileSync(file);
  // promtool takes OpenMetrics (ending in "# EOF"); plain text with timestamps works too.
  const tail = body.subarray(Math.max(0, body.length - 16)).toString('utf8');
  const contentType = /# EOF\s*$/.test(tail) ? 'application/openmetrics-text; version=1.0.0' : 'text/plain; version=0.0.4';
  let parsed;
  try {
    parsed = parse(body, contentType);
  } catch (err) {
    if (err instanceof ParseError) throw new Error(`${file}: ${err.message}`);
    throw err;
  }
  const missing = parsed.samples.findIndex((s) => s.timestamp === undefined);
  if (missing >= 0) throw new Error(`${file}: every sample needs a timestamp (sample ${missing + 1} has none)`);
  // In time order the head's append window never gets in the way; ties keep file order.
  const samples = parsed.samples.map((s, i) => ({s, i})).sort((a, b) => a.s.timestamp! - b.s.timestamp! || a.i - b.i);

  const db = DB.open({dir: dataDir, logger: {info: () => {}, warn: (m, f) => io.err(`warning: ${m} ${JSON.stringify(f ?? {})}`), error: (m, f) => io.err(`error: ${m} ${JSON.stringify(f ?? {})}`)}});
  const blocksBefore = db.blocks().length;
  const rejected: Record<string, number> = {};
  let appended = 0;
  try {
    for (let i = 0; i < samples.length; i += batchSize) {
      const app = db.appender();
      for (const {s} of samples.slice(i, i + batchSize)) app.append(s.labels, s.timestamp!, s.value);
      const res = app.commit();
      appended += res.appended;
      for (const [reason, n] of Object.entries(res.rejected)) rejected[reason] = (rejected[reason] ?? 0) + (n ?? 0);
      await db.maintain();
    }
    await db.flush();
    return {samples: samples.length, appended, rejected, blocks: db.blocks().length - blocksBefore};
  } finally {
    await db.close();
  }
}
