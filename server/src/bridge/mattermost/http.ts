// ServeHTTP/ServeMetrics: turn the host's streamed request (broker streams, the
// varint "remote reader" body protocol) into a web-standard Request, and a
// Response back into Header/SyncHeader/WriteHeader/Write calls. Spec §5.4.

import {Readable, type Duplex} from 'node:stream';

import {ByteChunks, GoOpaque} from '../gob/index.ts';
import {EmptyStruct, RpcClient} from '../netrpc/index.ts';
import type {MuxBroker} from '../goplugin/index.ts';
import {HttpHeader} from './wiretypes.ts';

export interface PluginContext {
  sessionId: string;
  requestId: string;
  ipAddress: string;
  acceptLanguage: string;
  userAgent: string;
}

export type HttpHandler = (request: Request, context: PluginContext) => Promise<Response> | Response;

/** Each Write is one synchronous round trip, so send large chunks. */
export const writeChunkBytes = 4 * 1024 * 1024;
const bodyRequestBytes = 256 * 1024;

interface ServeHTTPArgs {
  ResponseWriterStream?: number;
  Request?: {
    Method?: string;
    URL?: GoOpaque | Record<string, unknown>;
    Header?: Map<string, string[]>;
    Host?: string;
    RemoteAddr?: string;
    RequestURI?: string;
  };
  Context?: {SessionId?: string; RequestId?: string; IPAddress?: string; AcceptLanguage?: string; UserAgent?: string};
  RequestBodyStream?: number;
}

export function contextFrom(ctx: ServeHTTPArgs['Context'] | undefined): PluginContext {
  return {
    sessionId: ctx?.SessionId ?? '',
    requestId: ctx?.RequestId ?? '',
    ipAddress: ctx?.IPAddress ?? '',
    acceptLanguage: ctx?.AcceptLanguage ?? '',
    userAgent: ctx?.UserAgent ?? '',
  };
}

/** Serves one ServeHTTP/ServeMetrics call; resolves when the whole response has been written. */
export async function serveHTTP(broker: MuxBroker, rawArgs: unknown, handler: HttpHandler): Promise<void> {
  const args = (rawArgs ?? {}) as ServeHTTPArgs;
  // The host's Accept on both ids times out after 5 s: dial before doing anything slow.
  const [rwStream, bodyStream] = await Promise.all([
    broker.dial(Number(args.ResponseWriterStream ?? 0)),
    args.RequestBodyStream ? broker.dial(Number(args.RequestBodyStream)) : Promise.resolve(undefined),
  ]);
  bodyStream?.on('error', () => {});
  const writer = new ResponseWriterClient(rwStream);
  try {
    const request = toRequest(args, bodyStream);
    let response: Response;
    try {
      response = await handler(request, contextFrom(args.Context));
    } catch (err) {
      response = Response.json({error: `internal error: ${(err as Error).message ?? String(err)}`}, {status: 500});
    }
    await writer.send(response);
  } finally {
    bodyStream?.destroy();
    writer.close();
  }
}

function urlString(u: unknown): string {
  if (u instanceof GoOpaque) return u.toString();
  if (u && typeof u === 'object') {
    // An old server's full *http.Request carries url.URL as a struct.
    const f = u as {Path?: string; RawQuery?: string};
    return (f.Path ?? '/') + (f.RawQuery ? `?${f.RawQuery}` : '');
  }
  return '/';
}

function toRequest(args: ServeHTTPArgs, bodyStream: Duplex | undefined): Request {
  const r = args.Request ?? {};
  const method = (r.Method ?? 'GET').toUpperCase();
  const headers = new Headers();
  for (const [name, values] of r.Header ?? new Map<string, string[]>()) {
    for (const v of values ?? []) {
      try {
        headers.append(name, v);
      } catch {
        // A header value fetch refuses (e.g. control characters) is dropped, not fatal.
      }
    }
  }
  const url = new URL(urlString(r.URL), `http://${r.Host || 'localhost'}`);
  const hasBody = bodyStream !== undefined && method !== 'GET' && method !== 'HEAD';
  return new Request(url, {
    method,
    headers,
    ...(hasBody ? {body: Readable.toWeb(remoteBodyReader(bodyStream)) as ReadableStream, duplex: 'half'} : {}),
  } as RequestInit);
}

/**
 * Mattermost's remote reader: we send a varint "give me up to N bytes", the host
 * copies up to N body bytes, and closes the stream once a request yields nothing.
 * Like Go's reader, ask again whenever the consumer wants more and the last ask was answered.
 */
export function remoteBodyReader(stream: Duplex): Readable {
  let asked = false;
  const ask = (): void => {
    if (asked || stream.destroyed || stream.writableEnded) return;
    asked = true;
    stream.write(varint(bodyRequestBytes));
  };
  const body = new Readable({
    highWaterMark: bodyRequestBytes,
    read: () => {
      stream.resume();
      ask();
    },
    destroy: (err, cb) => {
      stream.destroy();
      cb(err);
    },
  });
  stream.on('data', (chunk: Buffer) => {
    asked = false;
    if (!body.push(chunk)) stream.pause();
  });
  stream.on('end', () => body.push(null));
  stream.on('error', (err) => body.destroy(err));
  stream.on('close', () => {
    if (!body.readableEnded) body.push(null);
  });
  return body;
}

/** binary.PutVarint: zig-zag signed LEB128. */
export function varint(n: number): Buffer {
  let u = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (u >= 0x80) {
    out.push((u % 0x80) | 0x80);
    u = Math.floor(u / 0x80);
  }
  out.push(u);
  return Buffer.from(out);
}

const WriteHeaderArgs = 'int' as const;
const WriteArgs = 'bytes' as const;
const HeaderArgs = EmptyStruct;

/** The host's http.ResponseWriter, driven over net/rpc. */
class ResponseWriterClient {
  private readonly rpc: RpcClient;

  constructor(private readonly stream: Duplex) {
    this.rpc = new RpcClient(stream);
  }

  async send(response: Response): Promise<void> {
    // SyncHeader replaces the host's header map: start from what the host set, then ours.
    const current = ((await this.rpc.call('Plugin.Header', {type: HeaderArgs, value: {}})) ?? new Map()) as Map<string, string[]>;
    const merged = new Map<string, string[]>(current instanceof Map ? current : []);
    response.headers.forEach((value, name) => {
      const key = canonicalHeaderKey(name);
      if (key === 'Set-Cookie') return;
      merged.set(key, [value]);
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) merged.set('Set-Cookie', cookies);
    await this.rpc.call('Plugin.SyncHeader', {type: HttpHeader, value: merged});
    await this.rpc.call('Plugin.WriteHeader', {type: WriteHeaderArgs, value: response.status});
    if (!response.body) return;
    // Coalesce the body into large chunks; each Write must finish before the next (the host runs them concurrently).
    const reader = response.body.getReader();
    let parts: Uint8Array[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (size === 0) return;
      // The parts go out by reference (no concatenation, no copy in the encoder).
      const chunk = new ByteChunks(parts);
      parts = [];
      size = 0;
      await this.rpc.call('Plugin.Write', {type: WriteArgs, value: chunk});
    };
    try {
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        parts.push(value);
        size += value.length;
        if (size >= writeChunkBytes) await flush();
      }
      await flush();
    } catch (err) {
      // The client went away (or the body failed): stop producing, and end the hook
      // normally as a Go plugin does when a Write fails.
      await reader.cancel(err).catch(() => {});
    }
  }

  close(): void {
    this.rpc.close();
    this.stream.end();
  }
}

/** Go's textproto.CanonicalMIMEHeaderKey for ordinary header names. */
export function canonicalHeaderKey(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((p) => (p ? p[0].toUpperCase() + p.slice(1) : p))
    .join('-');
}
