// The dump builder: complete blocks of the file store that overlap [from, to) → one
// .tar.gz in the file store, streamed (file store → tar → gzip → file store) without a
// staging copy.
//
// Archive layout (entries relative, no leading "/", the archive root is the Prometheus
// data dir, as upstream and hanzei/dockprom's `tar -xf dump -C prometheus_data` expect):
//
//   metadata.yaml                  upstream's model.PacketMetadata (+ extras)
//   README.md                      how to open it (Prometheus + Grafana dashboard 15582)
//   <ULID>/chunks/000001 …         Prometheus blocks, byte copies of the remote blocks
//   <ULID>/index, tombstones
//   <ULID>/meta.json               last file of each block
//   manifest.json                  last entry: blocks, every file's size + sha256, counts
//
// No wal/, chunks_head/ or our mm-manifest.json: Prometheus creates what it needs.
//
// Selection: a remote block is a candidate iff its meta.json is present (complete
// upload) and [minTime, maxTime) overlaps [from, to) at millisecond precision. Blocks are
// included whole, so the actual range covers the request and may extend past it.
// Redundant candidates (same data twice: 2 h blocks and the 24 h block compacted from
// them were both synced) are dropped, never merged; see pickBlocks(). Genuinely
// overlapping blocks (e.g. two scrapers during a lease hand-over) are kept as they are:
// Prometheus ≥ 2.39 queries and vertically compacts overlapping blocks by default
// (checked with 2.42 in builder.prometheus.test.ts), so no local merge and no staging.
//
// Memory: one remote file is streamed at a time through Readable.from → gzip → sha256
// → backend.write, with stream backpressure; what is held is a few stream buffers
// (≈ 1 MiB) plus per-block metadata and, to list the nodes, each index's postings offset
// table (read by range, skipped above NODES_TABLE_LIMIT). Independent of the dump size.
//
// CPU: gzip runs in libuv's thread pool (zlib streams are async); sha256 of each chunk
// (≤ 64 KiB) runs on the main thread at ~1 GB/s, i.e. well under a millisecond per
// chunk, so the event loop keeps answering (yamux pings need < 10 s). Nothing else heavy.

import {createHash} from 'node:crypto';
import {Readable, Transform, type TransformCallback, pipeline} from 'node:stream';
import {createGzip} from 'node:zlib';
import {Header} from 'tar';

import {type FileBackend, type FileInfo, remoteDataDir} from '../filestore/backend.ts';
import {MANIFEST_FILENAME, decodeManifest} from '../sync/manifest.ts';
import {RemoteMetaCache, type RemoteDir, RemoteMetaError, errorMessage, listGrouped, readAll} from '../sync/remote.ts';
import type {SyncLogger} from '../sync/remote.ts';
import {type BlockMeta, isULID} from '../tsdb/block/mod.ts';
import {crc32c, newDecbufAt} from '../tsdb/encoding/mod.ts';
import {TOC_LEN} from '../tsdb/index/index.ts';

export const DUMP_MANIFEST_VERSION = 1;
export const PLUGIN_ID = 'com.mattermost.mattermost-plugin-metrics';
/** Postings offset tables larger than this are not read to list the nodes of a block. */
export const NODES_TABLE_LIMIT = 16 << 20;
/** The label whose values name the nodes (Mattermost's `instance`). */
export const NODE_LABEL = 'instance';

export interface DumpMetadata {
  /** The running server's version (from the API, not a compiled-in constant). */
  serverVersion: string;
  /** Telemetry / diagnostic id (26 chars); metadata.yaml server_id. */
  diagnosticId: string;
  pluginVersion: string;
  pluginId?: string;
  siteName?: string;
  siteURL?: string;
  licenseId?: string;
  customerId?: string;
  /** User id or name that asked for the dump. */
  createdBy?: string;
  /** Job id, reason, … : added to metadata.yaml extras (scalars only). */
  extras?: Record<string, string | number | boolean>;
}

export type DumpPhase = 'prepare' | 'select' | 'archive' | 'finalize' | 'done';

/**
 * A build's preparation (flush, sync, ask the scraping node to flush): gets the requested
 * range; may return warnings for the admin (e.g. the newest samples may be missing), which
 * go into manifest.json and DumpResult.warnings.
 */
export type DumpPrepare = (signal?: AbortSignal, range?: {from: number; to: number}) => Promise<{warnings?: string[]} | void>;

export interface BuildDumpOptions {
  backend: FileBackend;
  /** Requested range, ms, [from, to). */
  from: number;
  to: number;
  /** File-store path of the .tar.gz (replaced if present). See dumpFileName(). */
  outPath: string;
  metadata: DumpMetadata;
  signal?: AbortSignal;
  /** fraction in [0, 1] of the bytes to copy; called at most every ~1 %. */
  onProgress?: (fraction: number, phase: DumpPhase) => void;
  logger?: SyncLogger;
  /**
   * Runs first: flush the local store (`DB.flush()`) and sync (`BlockSyncer.syncOnce()`)
   * so that a range ending "now" really ends now. Without it the caller must have done
   * both before calling buildDump.
   */
  prepare?: DumpPrepare;
  /** Default `plugin-data/mattermost-plugin-metrics/data`. */
  dataDir?: string;
  metaCache?: RemoteMetaCache;
  /** gzip level, default 6 (Go's and gzip's default). */
  gzipLevel?: number;
  /** Where the .tar.gz goes (default `backend`), e.g. a local temporary dir for the Support Packet. */
  output?: FileBackend;
  /** Fail with DumpTooLargeError once the .tar.gz exceeds this many bytes (default: no limit). */
  maxBytes?: number;
  now?: () => number;
}

export interface DumpBlock {
  ulid: string;
  minTime: number;
  maxTime: number;
  level: number;
  series: number;
  samples: number;
  chunks: number;
  bytes: number;
  /** Values of the `instance` label in this block (empty if not read). */
  nodes: string[];
  /** Archive path (relative) → size and sha256. */
  files: Array<{path: string; size: number; sha256: string}>;
}

export interface DroppedBlock {
  ulid: string;
  /** Why it is not in the dump. */
  reason: 'covered-by-compacted-block' | 'split-into-present-sources' | 'duplicate';
  /** The block(s) holding its data instead. */
  by: string[];
}

export interface DumpResult {
  path: string;
  fileName: string;
  /** Size of the .tar.gz. */
  bytes: number;
  /** sha256 of the .tar.gz. */
  sha256: string;
  blocks: DumpBlock[];
  dropped: DroppedBlock[];
  /** Largest numSeries of an included block (a lower bound of the distinct series). */
  series: number;
  /** Sum of numSamples over included blocks (counts duplicates of overlapping blocks twice). */
  samples: number;
  requestedRange: {from: number; to: number};
  /** [min minTime, max maxTime) of the included blocks; covers the data in the request. */
  actualRange: {min: number; max: number};
  /** Distinct `instance` label values over all blocks. */
  nodes: string[];
  /** True when included blocks overlap in time (left to Prometheus' vertical merge). */
  overlapping: boolean;
  /** Block files found remotely but not archived (mm-manifest.json, unknown files). */
  skippedFiles: string[];
  /** What the admin should know about the contents (from `prepare`), e.g. newest samples missing. */
  warnings?: string[];
}

export class DumpError extends Error {
  override name = 'DumpError';
}

/** A block file in the file store does not match its mm-manifest.json. */
export class DamagedBlockError extends DumpError {
  override name = 'DamagedBlockError';
  constructor(
    message: string,
    readonly ulid: string,
  ) {
    super(message);
  }
}

/** No complete remote block overlaps the requested range: nothing is written. */
export class DumpNoDataError extends DumpError {
  override name = 'DumpNoDataError';
}

/** The .tar.gz grew past BuildDumpOptions.maxBytes (the partial output is removed). */
export class DumpTooLargeError extends DumpError {
  override name = 'DumpTooLargeError';
}

/** `mattermost-metrics_<site>_<from>_<to>.tar.gz`, UTC, filesystem-safe (no ':' or '/'). */
export function dumpFileName(site: string | undefined, from: number, to: number): string {
  return `mattermost-metrics_${siteSlug(site)}_${compactTime(from)}_${compactTime(to)}.tar.gz`;
}

/** A short lower-case slug of a site URL's host or a site name; "mattermost" if empty. */
export function siteSlug(site: string | undefined): string {
  let s = (site ?? '').trim();
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
      const u = new URL(s);
      s = u.host + (u.pathname === '/' ? '' : u.pathname);
    }
  } catch {
    // not a URL: use it as a name
  }
  const slug = s
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 48)
    .replace(/[-.]+$/, '');
  return slug || 'mattermost';
}

/** 2024-05-01T13:45:07.123Z → 20240501T134507Z (ms dropped unless non-zero: …07123Z). */
export function compactTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const base = iso.slice(0, 19).replace(/[-:]/g, '');
  const millis = iso.slice(20, 23);
  return millis === '000' ? `${base}Z` : `${base}${millis}Z`;
}

interface Candidate {
  meta: BlockMeta;
  dir: RemoteDir;
}

/** A block's level-1 sources (itself if it lists none). */
function sourcesOf(m: BlockMeta): string[] {
  return m.compaction.sources?.length ? m.compaction.sources : [m.ulid];
}

/**
 * Drops candidates whose data another kept block holds, preferring small blocks:
 *  1. a compacted block all of whose sources are complete remotely is dropped: its data
 *     in the range is in those sources, which the overlap rule selected (smaller dump);
 *  2. of the rest, a block whose sources are a subset of another's is dropped (equal
 *     sets: the lower ULID goes). A 2 h block and the 24 h block compacted from it, or a
 *     6 h block inside a 24 h one, hold the same samples.
 * What remains may still overlap in time (different sources: two scrapers); that is left
 * to Prometheus.
 */
export function pickBlocks(candidates: readonly BlockMeta[], completeRemote: ReadonlySet<string>): {keep: BlockMeta[]; dropped: DroppedBlock[]} {
  const dropped: DroppedBlock[] = [];
  let keep = [...candidates];
  const selected = new Set(keep.map((m) => m.ulid));
  keep = keep.filter((m) => {
    const src = sourcesOf(m);
    if (src.length === 1 && src[0] === m.ulid) return true;
    if (src.every((s) => s !== m.ulid && completeRemote.has(s))) {
      const by = src.filter((s) => selected.has(s));
      if (by.length > 0) {
        dropped.push({ulid: m.ulid, reason: 'split-into-present-sources', by});
        return false;
      }
    }
    return true;
  });
  const srcSets = new Map(keep.map((m) => [m.ulid, new Set(sourcesOf(m))]));
  const out: BlockMeta[] = [];
  for (const m of keep) {
    const mine = srcSets.get(m.ulid)!;
    let by: string | null = null;
    let equal = false;
    for (const o of keep) {
      if (o.ulid === m.ulid) continue;
      const theirs = srcSets.get(o.ulid)!;
      if (theirs.size < mine.size) continue;
      if (![...mine].every((s) => theirs.has(s))) continue;
      if (theirs.size === mine.size && o.ulid < m.ulid) continue; // equal sets: keep the higher ULID
      by = o.ulid;
      equal = theirs.size === mine.size;
      break;
    }
    if (by === null) out.push(m);
    else dropped.push({ulid: m.ulid, reason: equal ? 'duplicate' : 'covered-by-compacted-block', by: [by]});
  }
  out.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
  return {keep: out, dropped};
}

const BLOCK_FILE = /^(chunks\/[0-9]{6}|index|tombstones|meta\.json)$/;

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException(`dump build aborted${reason instanceof Error ? `: ${reason.message}` : ''}`, 'AbortError');
}

/** Counts and hashes bytes passing through (the .tar.gz). */
class Sha256Counter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly maxBytes = Infinity) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(new DumpTooLargeError(`the dump is larger than the limit of ${this.maxBytes} bytes`));
      return;
    }
    cb(null, chunk);
  }
}

const ZERO = Buffer.alloc(1024);
const ENTRY_MTIME_FALLBACK = new Date(0);

function tarHeader(p: string, size: number, mtime: Date, dir = false): Buffer {
  const h = new Header({
    path: dir ? `${p}/` : p,
    mode: dir ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    size: dir ? 0 : size,
    mtime,
    type: dir ? 'Directory' : 'File',
  });
  if (h.encode() || !h.block) throw new DumpError(`tar: ${p} needs a pax header (path too long)`); // never for our names
  return h.block;
}

function padding(size: number): Buffer {
  const r = size % 512;
  return r === 0 ? Buffer.alloc(0) : ZERO.subarray(0, 512 - r);
}

/** Values of `label` in a remote index, from its postings offset table (two ranged reads). */
export async function readLabelValues(backend: FileBackend, file: FileInfo, label: string, limit = NODES_TABLE_LIMIT): Promise<string[] | null> {
  if (file.size < 5 + TOC_LEN) return null;
  const toc = await readStream(await backend.read(file.path, {start: file.size - TOC_LEN, end: file.size - 1}));
  if (toc.length !== TOC_LEN || toc.readUInt32BE(48) !== crc32c(toc, 0, 48)) throw new DumpError(`${file.path}: index TOC checksum mismatch`);
  const tableOff = Number(toc.readBigUInt64BE(40));
  const tableEnd = file.size - TOC_LEN;
  if (tableOff <= 0 || tableOff >= tableEnd) throw new DumpError(`${file.path}: postings offset table offset ${tableOff} out of range`);
  if (tableEnd - tableOff > limit) return null;
  const buf = await readStream(await backend.read(file.path, {start: tableOff, end: tableEnd - 1}));
  const d = newDecbufAt(buf, 0, file.path, 'postings offset table');
  const n = d.be32();
  const out: string[] = [];
  for (let i = 0; i < n && d.err === null; i++) {
    d.uvarint();
    const name = d.uvarintStr();
    const value = d.uvarintStr();
    d.uvarint();
    if (d.err === null && name === label) out.push(value);
  }
  if (d.err) throw d.err;
  return out;
}

async function readStream(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer | string>) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(parts);
}

function yamlScalar(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v);
  // Plain when unambiguous, JSON-quoted (valid YAML double-quoted) otherwise.
  if (
    /^[A-Za-z0-9_][A-Za-z0-9_./:@+-]*$/.test(v) &&
    !v.endsWith(':') &&
    !/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(v) &&
    !/^0[xo]/i.test(v) &&
    !/^(true|false|yes|no|on|off|null|y|n)$/i.test(v)
  ) {
    return v;
  }
  return JSON.stringify(v);
}

/** metadata.yaml as Mattermost's model.PacketMetadata marshals it (yaml.v3: 4-space indent, sorted extras). */
export function packetMetadataYAML(md: DumpMetadata, generatedAt: number, extras: Record<string, string | number | boolean | string[]>): string {
  const lines = [
    'version: 1',
    'type: plugin-packet',
    `generated_at: ${generatedAt}`,
    `server_version: ${yamlScalar(md.serverVersion)}`,
    `server_id: ${yamlScalar(md.diagnosticId)}`,
    `license_id: ${yamlScalar(md.licenseId ?? '')}`,
    `customer_id: ${yamlScalar(md.customerId ?? '')}`,
    'extras:',
  ];
  for (const k of Object.keys(extras).sort()) {
    const v = extras[k];
    if (Array.isArray(v)) {
      if (v.length === 0) lines.push(`    ${k}: []`);
      else {
        lines.push(`    ${k}:`);
        for (const x of v) lines.push(`        - ${yamlScalar(x)}`);
      }
    } else lines.push(`    ${k}: ${yamlScalar(v)}`);
  }
  return `${lines.join('\n')}\n`;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function readmeText(r: {now: number; fileName: string; from: number; to: number; min: number; max: number; site: string; nodes: string[]; blocks: number; overlapping: boolean}): string {
  const days = Math.max(1, Math.ceil((r.now - r.min) / 86_400_000) + 1);
  return `# Mattermost performance metrics dump

Site: ${r.site || '(unknown)'}
Requested range: ${iso(r.from)} .. ${iso(r.to)} (UTC, end exclusive)
Data in this archive: ${iso(r.min)} .. ${iso(r.max)} (whole blocks; may extend past the request)
Nodes (instance label): ${r.nodes.length ? r.nodes.join(', ') : '(not listed)'}
Blocks: ${r.blocks}${r.overlapping ? ' (some overlap in time; Prometheus 2.39+ merges them)' : ''}

The archive root is a Prometheus data directory (TSDB blocks). \`metadata.yaml\` describes
the server; \`manifest.json\` lists every block file with its size and sha256.

## Open it with Prometheus

    mkdir prometheus_data
    tar xzf ${r.fileName} -C prometheus_data
    touch prometheus.yml
    prometheus --config.file=prometheus.yml --storage.tsdb.path=prometheus_data \\
      --storage.tsdb.retention.time=${days}d

Or with Docker (the image runs as "nobody": make the directory writable first):

    chmod -R a+rwX prometheus_data
    docker run --rm -p 9090:9090 -v "$PWD/prometheus_data:/prometheus" prom/prometheus \\
      --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus \\
      --storage.tsdb.retention.time=${days}d

Keep the retention at least as long as the data is old: Prometheus deletes blocks beyond
its retention (default 15 days) when it starts. Verify the files with
\`sha256sum\` against manifest.json, or \`mm-metrics inspect ${r.fileName}\`.

## Dashboards

In Grafana add a Prometheus data source (http://localhost:9090), import dashboard
**15582** "Mattermost Performance Monitoring v2" (grafana.com/grafana/dashboards/15582),
and set the time range to the one above. Or use https://github.com/hanzei/dockprom:
\`setup.sh ${r.fileName}\`. Samples are usually 60 s apart: panels using \`rate(…[1m])\`
need a window of at least 2 minutes to show data.
`;
}

/**
 * Builds a dump of the file store's blocks overlapping [from, to) into `outPath`.
 *
 * The caller flushes the local store (`DB.flush()`) and syncs (`BlockSyncer.syncOnce()`)
 * first, or passes that as `prepare`, so that a range ending now really ends now.
 * Cancellation (signal): the build stops, the partial output is deleted, the promise
 * rejects with an AbortError. Rejects with DumpNoDataError when no block overlaps.
 */
export async function buildDump(opts: BuildDumpOptions): Promise<DumpResult> {
  const {backend, from, to, outPath, signal} = opts;
  const log = opts.logger;
  const dataDir = opts.dataDir ?? remoteDataDir;
  const now = opts.now ?? Date.now;
  const progress = opts.onProgress ?? (() => {});
  const check = (): void => {
    if (signal?.aborted) throw abortError(signal);
  };
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from >= to) throw new DumpError(`invalid range [${from}, ${to})`);
  check();
  const warnings: string[] = [];
  if (opts.prepare) {
    progress(0, 'prepare');
    const prepared = await opts.prepare(signal, {from, to});
    if (prepared?.warnings) warnings.push(...prepared.warnings);
    check();
  }

  // Select.
  progress(0, 'select');
  const cache = opts.metaCache ?? new RemoteMetaCache();
  const dirs = await listGrouped(backend, dataDir);
  const complete = new Map<string, Candidate>();
  for (const d of dirs.values()) {
    if (!isULID(d.name)) continue;
    try {
      complete.set(d.name, {meta: await cache.get(backend, dataDir, d), dir: d});
    } catch (e) {
      if (e instanceof RemoteMetaError) log?.warn('dump: remote block with an invalid meta.json skipped', {block: d.name, error: errorMessage(e)});
      else if ((e as Error).name === 'FileNotFoundError') log?.debug?.('dump: incomplete remote block skipped (no meta.json)', {block: d.name});
      else throw e;
    }
    check();
  }
  const candidates = [...complete.values()].map((c) => c.meta).filter((m) => m.minTime < to && m.maxTime > from);
  const {keep, dropped} = pickBlocks(candidates, new Set(complete.keys()));
  if (keep.length === 0) {
    const all = [...complete.values()].map((c) => c.meta);
    const held =
      all.length === 0
        ? 'the file store holds no metrics blocks yet'
        : `the file store holds metrics from ${iso(Math.min(...all.map((m) => m.minTime)))} to ${iso(Math.max(...all.map((m) => m.maxTime)))}`;
    throw new DumpNoDataError(`no metrics in ${iso(from)} .. ${iso(to)}: ${held} (no complete block in the file store overlaps the range)`);
  }
  for (const d of dropped) log?.debug?.('dump: redundant block left out', {...d});

  // Plan the files; read the node lists and remote manifests (small).
  const skippedFiles: string[] = [];
  const plans: Array<{meta: BlockMeta; files: FileInfo[]; expected: Map<string, string>; nodes: string[]}> = [];
  let totalBytes = 0;
  for (const meta of keep) {
    const dir = complete.get(meta.ulid)!.dir;
    const files: FileInfo[] = [];
    for (const [rel, info] of dir.files) {
      if (BLOCK_FILE.test(rel)) files.push(info);
      else if (rel !== MANIFEST_FILENAME) skippedFiles.push(`${meta.ulid}/${rel}`);
    }
    const rel = (f: FileInfo): string => f.path.slice(dataDir.length + 1 + meta.ulid.length + 1);
    const rank = (r: string): number => (r.startsWith('chunks/') ? 0 : r === 'index' ? 1 : r === 'meta.json' ? 3 : 2);
    files.sort((a, b) => rank(rel(a)) - rank(rel(b)) || (rel(a) < rel(b) ? -1 : 1));
    if (!files.some((f) => rel(f) === 'index') || !files.some((f) => rel(f).startsWith('chunks/'))) {
      throw new DumpError(`remote block ${meta.ulid} has meta.json but no index or chunks`);
    }
    const expected = new Map<string, string>();
    const mf = dir.files.get(MANIFEST_FILENAME);
    if (mf) {
      try {
        for (const e of decodeManifest((await readAll(backend, mf.path)).toString('utf8')).files) expected.set(e.path, e.sha256);
      } catch (e) {
        log?.warn('dump: unreadable remote manifest, block files not checked against it', {block: meta.ulid, error: errorMessage(e)});
      }
    }
    let nodes: string[] = [];
    try {
      nodes = (await readLabelValues(backend, files.find((f) => rel(f) === 'index')!, NODE_LABEL)) ?? [];
    } catch (e) {
      log?.warn('dump: could not list the nodes of a block', {block: meta.ulid, error: errorMessage(e)});
    }
    for (const f of files) totalBytes += f.size;
    plans.push({meta, files, expected, nodes});
    check();
  }

  const min = Math.min(...keep.map((m) => m.minTime));
  const max = Math.max(...keep.map((m) => m.maxTime));
  const nodes = [...new Set(plans.flatMap((p) => p.nodes))].sort();
  let overlapping = false;
  for (let i = 1; i < keep.length; i++) if (keep[i].minTime < Math.max(...keep.slice(0, i).map((m) => m.maxTime))) overlapping = true;
  const site = opts.metadata.siteURL || opts.metadata.siteName || '';
  const fileName = outPath.slice(outPath.lastIndexOf('/') + 1);
  const generatedAt = now();
  const md = opts.metadata;
  const extras: Record<string, string | number | boolean | string[]> = {
    min: from,
    max: to,
    actual_min: min,
    actual_max: max,
    plugin_id: md.pluginId ?? PLUGIN_ID,
    plugin_version: md.pluginVersion,
    nodes,
  };
  if (md.siteName) extras.site_name = md.siteName;
  if (md.siteURL) extras.site_url = md.siteURL;
  if (md.createdBy) extras.created_by = md.createdBy;
  for (const [k, v] of Object.entries(md.extras ?? {})) if (!(k in extras)) extras[k] = v;

  const blocks: DumpBlock[] = [];
  const mtime = new Date(generatedAt);
  let copied = 0;
  let lastReported = -1;
  const report = (): void => {
    const f = totalBytes === 0 ? 1 : copied / totalBytes;
    if (f - lastReported >= 0.01 || f === 1) {
      lastReported = f;
      progress(f, 'archive');
    }
  };

  async function* entries(): AsyncGenerator<Buffer> {
    const small = (p: string, text: string): Buffer[] => {
      const b = Buffer.from(text, 'utf8');
      return [tarHeader(p, b.length, mtime), b, padding(b.length)];
    };
    yield* small('metadata.yaml', packetMetadataYAML(md, generatedAt, extras));
    yield* small('README.md', readmeText({now: generatedAt, fileName, from, to, min, max, site, nodes, blocks: keep.length, overlapping}));
    for (const plan of plans) {
      const {meta} = plan;
      const block: DumpBlock = {
        ulid: meta.ulid,
        minTime: meta.minTime,
        maxTime: meta.maxTime,
        level: meta.compaction.level,
        series: meta.stats?.numSeries ?? 0,
        samples: meta.stats?.numSamples ?? 0,
        chunks: meta.stats?.numChunks ?? 0,
        bytes: 0,
        nodes: plan.nodes,
        files: [],
      };
      yield tarHeader(meta.ulid, 0, mtime, true);
      yield tarHeader(`${meta.ulid}/chunks`, 0, mtime, true);
      for (const f of plan.files) {
        check();
        const rel = f.path.slice(dataDir.length + 1 + meta.ulid.length + 1);
        const name = `${meta.ulid}/${rel}`;
        yield tarHeader(name, f.size, f.modTime > 0 ? new Date(f.modTime) : ENTRY_MTIME_FALLBACK);
        const h = createHash('sha256');
        let n = 0;
        const s = await backend.read(f.path);
        for await (const c of s as AsyncIterable<Buffer>) {
          check();
          if (n + c.length > f.size) {
            s.destroy();
            throw new DumpError(`${f.path} grew while being archived (listed ${f.size} bytes)`);
          }
          h.update(c);
          n += c.length;
          copied += c.length;
          yield c;
          report();
        }
        if (n !== f.size) throw new DumpError(`${f.path}: read ${n} bytes, listed ${f.size}`);
        yield padding(n);
        const sha = h.digest('hex');
        const want = plan.expected.get(rel);
        if (want !== undefined && want !== sha) {
          // Say which time it covers: the admin can dump around it while support looks at it.
          const span = `${new Date(meta.minTime).toISOString()} .. ${new Date(meta.maxTime).toISOString()}`;
          throw new DamagedBlockError(
            `${f.path} is damaged in the file store: it does not match the block's mm-manifest.json (sha256 ${sha}, expected ${want}); ` +
              `the block holds ${span} — a dump of a range outside it still works, and the scraping node uploads it again if it still has it`,
            meta.ulid,
          );
        }
        block.files.push({path: name, size: n, sha256: sha});
        block.bytes += n;
      }
      blocks.push(block);
    }
    progress(1, 'finalize');
    const manifest = {
      version: DUMP_MANIFEST_VERSION,
      createdBy: 'mattermost-plugin-metrics',
      pluginVersion: md.pluginVersion,
      generatedAt: iso(generatedAt),
      site,
      requestedRange: {from, to, fromISO: iso(from), toISO: iso(to)},
      actualRange: {min, max, minISO: iso(min), maxISO: iso(max)},
      nodes,
      series: Math.max(...blocks.map((b) => b.series)),
      seriesPerBlockSum: blocks.reduce((s, b) => s + b.series, 0),
      samples: blocks.reduce((s, b) => s + b.samples, 0),
      overlapping,
      blocks,
      dropped,
      ...(warnings.length > 0 ? {warnings} : {}),
    };
    yield* small('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
    yield ZERO; // end of archive: two zero records
  }

  progress(0, 'archive');
  const src = Readable.from(entries(), {objectMode: false, highWaterMark: 256 * 1024});
  const counter = new Sha256Counter(opts.maxBytes);
  const output = opts.output ?? backend;
  const pipe: {err: Error | null} = {err: null};
  const out = pipeline(src, createGzip({level: opts.gzipLevel ?? 6, chunkSize: 256 * 1024}), counter, (err) => {
    if (err) pipe.err = err;
  });
  let written: number;
  try {
    written = await output.write(outPath, out, {signal});
    if (pipe.err) throw pipe.err;
    check();
  } catch (e) {
    src.destroy();
    out.destroy();
    await output.remove(outPath).catch((re: unknown) => log?.warn('dump: could not remove the partial dump', {path: outPath, error: errorMessage(re)}));
    if (signal?.aborted) throw abortError(signal);
    throw pipe.err ?? e;
  }
  if (written !== counter.bytes) throw new DumpError(`wrote ${written} bytes, produced ${counter.bytes}`);
  const result: DumpResult = {
    path: outPath,
    fileName,
    bytes: written,
    sha256: counter.hash.digest('hex'),
    blocks,
    dropped,
    series: Math.max(...blocks.map((b) => b.series)),
    samples: blocks.reduce((s, b) => s + b.samples, 0),
    requestedRange: {from, to},
    actualRange: {min, max},
    nodes,
    overlapping,
    skippedFiles,
    ...(warnings.length > 0 ? {warnings} : {}),
  };
  progress(1, 'done');
  log?.info('dump: built', {path: outPath, bytes: written, blocks: blocks.length, dropped: dropped.length, from: iso(from), to: iso(to), actualMin: iso(min), actualMax: iso(max)});
  return result;
}
