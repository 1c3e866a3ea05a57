// The `amazons3` driver with the AWS SDK v3: AWS S3 and S3-compatible stores (MinIO, Ceph, ...).
//
// * Every write goes through lib-storage's Upload: bodies are cut into parts of `partSize`
//   and at most `queueSize` parts are in flight, so memory is bounded by
//   (queueSize + 1) × partSize whatever the file size; files smaller than one part are a
//   single PutObject. A failed multipart upload is aborted (its parts would otherwise be
//   billed but invisible).
// * Retries: the SDK's standard mode with a bounded number of attempts. Parts are Buffers,
//   so every request body can be replayed.
// * Timeouts: `requestTimeoutMs` bounds each HTTP attempt (connect, and request until the
//   response headers) and any period of socket inactivity, also while a read streams its
//   body; an operation fails after at most maxAttempts × requestTimeoutMs plus back-off.
// * TLS certificate verification stays on (unlike the Go plugin, which skipped it).
// * Checksums only when the API requires them (requestChecksumCalculation WHEN_REQUIRED):
//   the SDK's default CRC trailers break several S3-compatible servers. DeleteObjects also
//   gets a Content-MD5 header, which older S3-compatible servers require.

import {createHash} from 'node:crypto';
import {pipeline, Readable, Transform} from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {Upload} from '@aws-sdk/lib-storage';
import {type FileBackend, type FileInfo, FileNotFoundError, FileStoreError} from './backend.ts';
import {abortedError, checkBackend, type FileStoreLogger, silentLogger, wrapReadStream} from './common.ts';
import {checkRange, cleanPath, joinPath} from './paths.ts';

export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
const DELETE_BATCH = 1000;

export interface S3Settings {
  bucket: string;
  /** Key prefix inside the bucket ('' = bucket root); slashes are normalised. */
  pathPrefix?: string;
  /** '' → us-east-1. */
  region?: string;
  /** host[:port] without scheme; '' or 's3.amazonaws.com' → AWS's regional endpoint. */
  endpoint?: string;
  /** http:// (false) or https:// (true) for a custom endpoint. */
  ssl?: boolean;
  /** SSE-S3: ServerSideEncryption AES256 on every put. */
  sse?: boolean;
  /** Both empty → the SDK's default credential chain (environment, profile, IAM role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Per-attempt timeout (ms); default 30000. */
  requestTimeoutMs?: number;
  /** Multipart part size (bytes); default and minimum 5 MiB. */
  uploadPartSizeBytes?: number;
}

export interface S3BackendOptions {
  logger?: FileStoreLogger;
  /** Attempts per request including the first (SDK standard retry mode); default 3. */
  maxAttempts?: number;
  /** Parts uploaded concurrently per write; default 2. */
  queueSize?: number;
}

export interface ResolvedEndpoint {
  /** undefined → the SDK resolves AWS's regional endpoint. */
  url: string | undefined;
  forcePathStyle: boolean;
  aws: boolean;
}

/** Mattermost's endpoint + SSL settings → what the SDK needs. Throws FileStoreError on a malformed endpoint. */
export function resolveEndpoint(endpoint: string | undefined, ssl: boolean): ResolvedEndpoint {
  const host = (endpoint ?? '').trim();
  if (host === '' || host.toLowerCase() === 's3.amazonaws.com') return {url: undefined, forcePathStyle: false, aws: true};
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) {
    throw new FileStoreError('config', host, 'AmazonS3Endpoint must be host[:port] without a scheme (AmazonS3SSL chooses http or https)');
  }
  const scheme = ssl ? 'https' : 'http';
  let u: URL;
  try {
    u = new URL(`${scheme}://${host}`);
  } catch {
    throw new FileStoreError('config', host, 'AmazonS3Endpoint is not a valid host[:port]');
  }
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '' || host.endsWith('/')) {
    throw new FileStoreError('config', host, 'AmazonS3Endpoint must be host[:port] without a path, query or credentials');
  }
  const aws = /(^|\.)amazonaws\.com(\.cn)?$/i.test(u.hostname);
  // AWS: virtual-hosted style as AWS prefers; anything else: path style (MinIO, Ceph, s3rver...).
  return {url: `${scheme}://${u.host}`, forcePathStyle: !aws, aws};
}

function normalisePrefix(p: string | undefined): string {
  const parts = (p ?? '').split('/').filter((s) => s !== '');
  for (const s of parts) {
    if (s === '.' || s === '..') throw new FileStoreError('config', p ?? '', 'AmazonS3PathPrefix must not contain "." or ".." segments');
  }
  return parts.join('/');
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: {httpStatusCode?: number; attempts?: number};
}

// Middleware signatures, loosely typed (the SDK's generic ones do not infer through addRelativeTo).
type MwArgs = {request?: unknown; input: unknown};
type AnyHandler = (args: any) => Promise<any>;
type MwContext = {commandName?: string};

function statusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** Drops `skip` bytes, passes the next `length`, discards the rest. */
function sliceStream(skip: number, length: number): Transform {
  let pos = 0;
  const end = skip + length;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const from = Math.max(skip - pos, 0);
      const to = Math.min(end - pos, chunk.length);
      pos += chunk.length;
      cb(null, to > from ? chunk.subarray(from, to) : undefined);
    },
  });
}

export class S3Backend implements FileBackend {
  readonly kind = 'amazons3' as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  readonly endpoint: ResolvedEndpoint;
  readonly partSize: number;
  readonly queueSize: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly client: S3Client;
  private readonly sse: boolean;
  private readonly staticCredentials: boolean;
  private readonly secret: string;
  private readonly log: FileStoreLogger;
  /** Writes in progress by object key: lets a failed part stop the rest of its upload early. */
  private readonly inflight = new Map<string, (err: unknown) => void>();

  constructor(settings: S3Settings, opts: S3BackendOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.bucket = (settings.bucket ?? '').trim();
    if (this.bucket === '') throw new FileStoreError('config', '', 'AmazonS3Bucket is empty');
    this.prefix = normalisePrefix(settings.pathPrefix);
    this.region = (settings.region ?? '').trim() || DEFAULT_REGION;
    this.endpoint = resolveEndpoint(settings.endpoint, settings.ssl ?? false);
    this.sse = settings.sse ?? false;
    const access = settings.accessKeyId ?? '';
    this.secret = settings.secretAccessKey ?? '';
    if ((access === '') !== (this.secret === '')) {
      throw new FileStoreError('config', '', 'set both AmazonS3AccessKeyId and AmazonS3SecretAccessKey, or neither (to use the IAM role)');
    }
    this.staticCredentials = access !== '';
    const t = settings.requestTimeoutMs;
    this.timeoutMs = t !== undefined && Number.isFinite(t) && t > 0 ? t : DEFAULT_TIMEOUT_MS;
    let part = settings.uploadPartSizeBytes ?? 0;
    if (!Number.isFinite(part) || part <= 0) part = MIN_PART_SIZE;
    if (part < MIN_PART_SIZE) {
      this.log.warn('file store: AmazonS3UploadPartSizeBytes is below the S3 minimum; using 5 MiB', {configured: part});
      part = MIN_PART_SIZE;
    }
    this.partSize = Math.min(Math.floor(part), MAX_PART_SIZE);
    this.queueSize = Math.max(1, Math.floor(opts.queueSize ?? 2));
    this.maxAttempts = Math.max(1, Math.floor(opts.maxAttempts ?? 3));

    const sdkLogger = {
      trace() {},
      debug() {},
      info() {},
      warn: (m: unknown) => this.log.warn('file store: S3 client warning', {message: this.redact(String(m))}),
      error: (m: unknown) => this.log.warn('file store: S3 client error', {message: this.redact(String(m))}),
    };
    const agent = {keepAlive: true, maxSockets: 32};
    const config: S3ClientConfig = {
      region: this.region,
      forcePathStyle: this.endpoint.forcePathStyle,
      followRegionRedirects: this.endpoint.aws,
      maxAttempts: this.maxAttempts,
      retryMode: 'standard',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      logger: sdkLogger,
      requestHandler: {
        connectionTimeout: this.timeoutMs,
        requestTimeout: this.timeoutMs,
        throwOnRequestTimeout: true,
        socketTimeout: this.timeoutMs,
        httpAgent: agent,
        httpsAgent: agent, // TLS verification: Node's default (on), never rejectUnauthorized: false
        logger: sdkLogger,
      },
    };
    if (this.endpoint.url) config.endpoint = this.endpoint.url;
    if (this.staticCredentials) config.credentials = {accessKeyId: access, secretAccessKey: this.secret};
    this.client = new S3Client(config);
    this.installMiddleware();
  }

  describe(): string {
    const where = this.endpoint.url ? `endpoint=${this.endpoint.url}` : 'endpoint=AWS';
    return [
      `amazons3 bucket=${this.bucket}`,
      `prefix=${this.prefix === '' ? '(none)' : this.prefix}`,
      where,
      `region=${this.region}`,
      `sse=${this.sse ? 'AES256' : 'off'}`,
      `credentials=${this.staticCredentials ? 'access key' : 'default chain (IAM role)'}`,
    ].join(' ');
  }

  /** Per-attempt failure log (inside the retry loop), Content-MD5 for DeleteObjects, early stop of failed uploads. */
  private installMiddleware(): void {
    const stack = this.client.middlewareStack;
    stack.addRelativeTo(
      (next: AnyHandler, context: MwContext) => async (args: MwArgs) => {
        try {
          return await next(args);
        } catch (err) {
          const status = statusOf(err);
          if (status === undefined || status >= 500 || status === 429) {
            const req = args.request as {headers?: Record<string, string>} | undefined;
            this.log.warn('file store: S3 request attempt failed', {
              operation: context.commandName,
              key: (args.input as {Key?: string}).Key,
              attempt: req?.headers?.['amz-sdk-request'],
              error: this.describeError(err),
            });
          }
          throw err;
        }
      },
      {relation: 'after', toMiddleware: 'retryMiddleware', name: 'mmMetricsAttemptLog', override: true},
    );
    stack.add(
      (next: AnyHandler, context: MwContext) => async (args: MwArgs) => {
        try {
          return await next(args);
        } catch (err) {
          const key = (args.input as {Key?: string}).Key;
          if (key !== undefined && /^(PutObject|UploadPart|CreateMultipartUpload)Command$/.test(context.commandName ?? '')) {
            this.inflight.get(key)?.(err);
          }
          throw err;
        }
      },
      {step: 'initialize', name: 'mmMetricsUploadFailFast', override: true},
    );
    stack.add(
      (next: AnyHandler, context: MwContext) => async (args: MwArgs) => {
        const req = args.request as {headers?: Record<string, string>; body?: unknown} | undefined;
        if (context.commandName === 'DeleteObjectsCommand' && req?.headers && (typeof req.body === 'string' || req.body instanceof Uint8Array)) {
          req.headers['content-md5'] = createHash('md5').update(req.body).digest('base64');
        }
        return next(args);
      },
      {step: 'build', name: 'mmMetricsContentMd5', override: true},
    );
  }

  private redact(s: string): string {
    return this.secret === '' ? s : s.split(this.secret).join('[redacted]');
  }

  private describeError(err: unknown): string {
    const e = (err ?? {}) as SdkErrorShape;
    const status = e.$metadata?.httpStatusCode;
    const attempts = e.$metadata?.attempts;
    let name = e.name ?? 'Error';
    let msg = e.message ?? String(err);
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && /^E[A-Z]+$/.test(code) && code !== 'ETIMEDOUT') {
      // Network errors (the SDK names ECONNRESET/EPIPE "TimeoutError" too, to retry them).
      name = code;
      msg = code === 'ECONNRESET' || code === 'EPIPE' ? `connection lost (${msg})` : msg;
    } else if (name === 'TimeoutError' || code === 'ETIMEDOUT' || /timed out|requestTimeout/i.test(msg)) {
      name = 'TimeoutError';
      msg = `no response within ${this.timeoutMs} ms (AmazonS3RequestTimeoutMilliseconds)`;
    } else if (msg === 'UnknownError' || msg === '') {
      msg = status !== undefined ? `HTTP ${status}` : 'unknown error';
    } else if (code && !msg.includes(code)) {
      msg += ` (${code})`;
    }
    const extra = [status !== undefined ? `HTTP ${status}` : '', attempts ? `${attempts} attempt(s)` : ''].filter(Boolean).join(', ');
    return this.redact(`${name}: ${msg}${extra ? ` [${extra}]` : ''}`);
  }

  private wrap(op: string, path: string, err: unknown): Error {
    if (err instanceof FileStoreError || err instanceof FileNotFoundError) return err;
    return new FileStoreError(op, path, `${this.describeError(err)} (bucket ${this.bucket})`, {cause: err});
  }

  /** Object key of a store path. */
  key(path: string): string {
    return joinPath(this.prefix, path);
  }

  /** Key prefix of a store directory ('' = the whole store), with its trailing slash. */
  private dirKey(dir: string): string {
    const k = this.key(dir);
    return k === '' ? '' : `${k}/`;
  }

  private storePath(objectKey: string): string {
    return this.prefix === '' ? objectKey : objectKey.slice(this.prefix.length + 1);
  }

  async write(p: string, body: Readable | Buffer, opts: {size?: number; signal?: AbortSignal} = {}): Promise<number> {
    const path = cleanPath('write', p);
    const {signal, size} = opts;
    if (signal?.aborted) throw abortedError('write', path, signal);
    const Key = this.key(path);
    if (this.inflight.has(Key)) throw new FileStoreError('write', path, 'another write to this path is in progress');

    let written = 0;
    let source: Readable | Buffer;
    let counter: Transform | undefined;
    if (Buffer.isBuffer(body)) {
      if (size !== undefined && body.length !== size) {
        throw new FileStoreError('write', path, `expected ${size} bytes but the source gave ${body.length}`);
      }
      written = body.length;
      source = body;
    } else {
      counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          written += chunk.length;
          cb(null, chunk);
        },
        flush(cb) {
          cb(size !== undefined && written !== size ? new FileStoreError('write', path, `expected ${size} bytes but the source gave ${written}`) : null);
        },
      });
      pipeline(body, counter, () => {}); // errors surface through `counter`, hence through Upload
      source = counter;
    }

    const upload = new Upload({
      client: this.client,
      params: {Bucket: this.bucket, Key, Body: source, ...(this.sse ? {ServerSideEncryption: 'AES256' as const} : {})},
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: true, // we abort ourselves, so that a failed abort cannot hide the real error
    });
    let firstError: unknown;
    this.inflight.set(Key, (err) => {
      firstError ??= err;
      counter?.destroy(err instanceof Error ? err : new Error(String(err))); // stop feeding the other parts
    });
    const onAbort = () => {
      firstError ??= abortedError('write', path, signal!);
      void upload.abort();
      counter?.destroy();
    };
    signal?.addEventListener('abort', onAbort, {once: true});
    try {
      await upload.done();
      return written;
    } catch (err) {
      if (!Buffer.isBuffer(body) && !body.destroyed) body.destroy();
      const uploadId = (upload as unknown as {uploadId?: string}).uploadId;
      if (uploadId) await this.abortMultipart(path, Key, uploadId);
      throw this.wrap('write', path, firstError ?? err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.inflight.delete(Key);
    }
  }

  private async abortMultipart(path: string, Key: string, UploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({Bucket: this.bucket, Key, UploadId}));
      this.log.info?.('file store: aborted the failed multipart upload', {path, uploadId: UploadId});
    } catch (err) {
      this.log.warn('file store: could not abort a failed multipart upload; its parts stay in the bucket until removed ' +
        '(an AbortIncompleteMultipartUpload lifecycle rule does that)', {path, uploadId: UploadId, error: this.describeError(err)});
    }
  }

  async read(p: string, range?: {start: number; end: number}): Promise<Readable> {
    const path = cleanPath('read', p);
    if (range) checkRange('read', path, range);
    try {
      const out = await this.client.send(
        new GetObjectCommand({Bucket: this.bucket, Key: this.key(path), ...(range ? {Range: `bytes=${range.start}-${range.end}`} : {})}),
      );
      const body = out.Body;
      if (!(body instanceof Readable)) throw new FileStoreError('read', path, 'the S3 response has no readable body');
      if (!range) return wrapReadStream(body, 'read', path);
      // Some S3-compatible servers ignore or widen a Range (s3rver answers bytes=0-0 with the
      // whole object): cut what we asked for out of what came.
      const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(out.ContentRange ?? '');
      const gotStart = cr ? Number(cr[1]) : 0;
      if (gotStart > range.start) {
        body.destroy();
        throw new FileStoreError('read', path, `asked for bytes ${range.start}-${range.end}, the server sent ${out.ContentRange}`);
      }
      const exact = cr !== null && gotStart === range.start && Number(cr[2]) <= range.end;
      if (exact) return wrapReadStream(body, 'read', path);
      const slice = sliceStream(range.start - gotStart, range.end - range.start + 1);
      pipeline(body, slice, () => {}); // a body error reaches `slice`, hence the wrapper
      return wrapReadStream(slice, 'read', path);
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || (err as SdkErrorShape).name === 'NoSuchKey') throw new FileNotFoundError(path);
      if (status === 416) throw new FileStoreError('read', path, `byte range ${range?.start}-${range?.end} not satisfiable`, {cause: err});
      throw this.wrap('read', path, err);
    }
  }

  async stat(p: string): Promise<FileInfo | null> {
    const path = cleanPath('stat', p);
    try {
      const out = await this.client.send(new HeadObjectCommand({Bucket: this.bucket, Key: this.key(path)}));
      return {path, size: out.ContentLength ?? 0, modTime: out.LastModified?.getTime() ?? 0};
    } catch (err) {
      if (statusOf(err) === 404 || (err as SdkErrorShape).name === 'NotFound') return null;
      throw this.wrap('stat', path, err);
    }
  }

  private async *pages(op: string, dir: string, delimiter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({Bucket: this.bucket, Prefix: this.dirKey(dir), ContinuationToken: token, Delimiter: delimiter}),
        );
      } catch (err) {
        throw this.wrap(op, dir, err);
      }
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async list(prefix: string): Promise<FileInfo[]> {
    const dir = cleanPath('list', prefix, {allowRoot: true});
    const out: FileInfo[] = [];
    for await (const page of this.pages('list', dir)) {
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue; // "folder" placeholder objects
        out.push({path: this.storePath(o.Key), size: o.Size ?? 0, modTime: o.LastModified?.getTime() ?? 0});
      }
    }
    return out;
  }

  async listDirs(prefix: string): Promise<string[]> {
    const dir = cleanPath('listDirs', prefix, {allowRoot: true});
    const base = this.dirKey(dir);
    const out: string[] = [];
    for await (const page of this.pages('listDirs', dir, '/')) {
      for (const cp of page.CommonPrefixes ?? []) {
        const name = (cp.Prefix ?? '').slice(base.length).replace(/\/$/, '');
        if (name !== '') out.push(name);
      }
    }
    return out.sort();
  }

  async remove(p: string): Promise<void> {
    const path = cleanPath('remove', p);
    try {
      await this.client.send(new DeleteObjectCommand({Bucket: this.bucket, Key: this.key(path)}));
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw this.wrap('remove', path, err);
    }
  }

  /** Removes every object below `prefix/` (refuses the store root), in DeleteObjects batches of 1000. */
  async removeAll(prefix: string): Promise<void> {
    const dir = cleanPath('removeAll', prefix);
    const keys: string[] = [];
    for await (const page of this.pages('removeAll', dir)) {
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    }
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let out;
      try {
        out = await this.client.send(
          new DeleteObjectsCommand({Bucket: this.bucket, Delete: {Objects: batch.map((Key) => ({Key})), Quiet: true}}),
        );
      } catch (err) {
        throw this.wrap('removeAll', dir, err);
      }
      const errors = out.Errors ?? [];
      if (errors.length > 0) {
        const e = errors[0];
        throw new FileStoreError('removeAll', dir, `${errors.length} object(s) not deleted, first ${e.Key}: ${e.Code ?? ''} ${e.Message ?? ''}`.trim());
      }
    }
  }

  check(prefix: string): Promise<void> {
    return checkBackend(this, prefix);
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
