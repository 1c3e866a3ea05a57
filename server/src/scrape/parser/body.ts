// Reading a scrape response with body_size_limit, like Prometheus' targetScraper.readResponse:
// status must be 200; the limit applies to the decompressed size and a body of `limit`
// bytes or more fails ("body size limit exceeded"); reading stops as soon as it is reached.

import zlib from 'node:zlib';
import {BodySizeLimitError, HTTPStatusError, ScrapeError} from './errors.ts';

export interface ReadBodyResult {
  body: Buffer;
  /** The response Content-Type ('' if absent), to pass to parse(). */
  contentType: string;
}

/**
 * Reads `response` (a fetch Response) into a Buffer, enforcing `limit` bytes (<= 0: none).
 * Node's fetch already decompresses `Content-Encoding: gzip`; when the bytes still are gzip
 * (a Response built by hand, or a proxy that double-encodes), they are inflated here, in
 * streaming fashion, so a gzip bomb stops at the limit.
 */
export async function readBody(response: Response, limit: number): Promise<ReadBodyResult> {
  const contentType = response.headers.get('content-type') ?? '';
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new HTTPStatusError(response.status, response.statusText);
  }
  const max = limit > 0 ? limit : Infinity;
  const gzipHeader = /(^|,)\s*gzip\s*$/i.test(response.headers.get('content-encoding') ?? '');
  const body = response.body;
  if (!body) return {body: Buffer.alloc(0), contentType};
  const reader = body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  let inflater: Inflater | null = null;
  let first = true;
  try {
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      if (!value || value.byteLength === 0) continue;
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (first) {
        first = false;
        // Still-compressed body: gzip magic 1f 8b (text expositions never start with 0x1f).
        if (gzipHeader && chunk[0] === 0x1f && (chunk.length < 2 || chunk[1] === 0x8b)) inflater = new Inflater(max);
      }
      if (inflater) {
        await inflater.write(chunk);
        continue;
      }
      size += chunk.length;
      if (size >= max) throw new BodySizeLimitError(limit);
      chunks.push(chunk);
    }
    if (inflater) return {body: await inflater.end(), contentType};
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    inflater?.destroy();
    if (e instanceof ScrapeError) throw e;
    throw new ScrapeError(`reading body: ${(e as Error).message}`);
  }
  return {body: Buffer.concat(chunks, size), contentType};
}

/** Streaming gunzip with an output cap. */
class Inflater {
  private readonly z = zlib.createGunzip();
  private readonly out: Buffer[] = [];
  private size = 0;
  private error: Error | null = null;

  constructor(private readonly max: number) {
    this.z.on('data', (d: Buffer) => {
      this.size += d.length;
      if (this.size >= this.max) {
        this.error ??= new BodySizeLimitError(max === Infinity ? 0 : max);
        this.z.destroy();
        return;
      }
      this.out.push(d);
    });
    this.z.on('error', (e) => {
      this.error ??= e instanceof BodySizeLimitError ? e : new ScrapeError(`gzip: ${e.message}`);
    });
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.error) throw this.error;
    if (!this.z.write(chunk)) await new Promise<void>((r) => this.z.once('drain', r).once('close', r));
    if (this.error) throw this.error;
  }

  async end(): Promise<Buffer> {
    if (this.error) throw this.error;
    await new Promise<void>((resolve) => {
      this.z.once('end', resolve);
      this.z.once('close', resolve);
      this.z.end();
    });
    if (this.error) throw this.error;
    return Buffer.concat(this.out, this.size);
  }

  destroy(): void {
    this.z.destroy();
  }
}
