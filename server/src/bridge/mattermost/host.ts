// The server's side of ServeHTTP, for the dev host and loopback tests: reserve
// broker ids for the response writer and the request body, serve them, and
// call Plugin.ServeHTTP. Mirrors mattermost/server/public/plugin/http.go.

import type {Readable} from 'node:stream';

import {struct} from '../gob/index.ts';
import type {MuxBroker} from '../goplugin/index.ts';
import {emptyReply, RpcServer, type RpcClient, type RpcHandler} from '../netrpc/index.ts';
import {HttpHeader} from './wiretypes.ts';
import {GoOpaque, opaque} from '../gob/index.ts';

const URLType = opaque('binaryMarshaler', '');
const ContextType = struct('Context', [
  ['SessionId', 'string'],
  ['RequestId', 'string'],
  ['IPAddress', 'string'],
  ['AcceptLanguage', 'string'],
  ['UserAgent', 'string'],
]);
const HTTPRequestSubset = struct('HTTPRequestSubset', [
  ['Method', 'string'],
  ['URL', URLType],
  ['Proto', 'string'],
  ['ProtoMajor', 'int'],
  ['ProtoMinor', 'int'],
  ['Header', HttpHeader],
  ['Host', 'string'],
  ['RemoteAddr', 'string'],
  ['RequestURI', 'string'],
]);
export const ServeHTTPArgs = struct('Z_ServeHTTPArgs', [
  ['ResponseWriterStream', 'uint'],
  ['Request', HTTPRequestSubset],
  ['Context', ContextType],
  ['RequestBodyStream', 'uint'],
]);

export interface HostRequest {
  method: string;
  /** Path and query as the plugin sees it (the /plugins/<id> prefix already stripped). */
  url: string;
  headers: Record<string, string[]>;
  host?: string;
  remoteAddr?: string;
  body?: Readable;
  sessionId?: string;
  /** plugin.Context fields the server fills per request (empty for ServeMetrics). */
  requestId?: string;
  ipAddress?: string;
  acceptLanguage?: string;
  userAgent?: string;
  /** The original request URI (before the prefix was stripped); defaults to `url`. */
  requestURI?: string;
}

export interface HostResponseSink {
  writeHead(status: number, headers: Map<string, string[]>): void;
  /** Resolves when the chunk may be followed by more (backpressure). */
  write(chunk: Buffer): Promise<void> | void;
}

/** Calls Plugin.ServeHTTP (or ServeMetrics) the way the Mattermost server does. */
export async function callServeHTTP(
  hooks: RpcClient,
  broker: MuxBroker,
  req: HostRequest,
  sink: HostResponseSink,
  method: 'Plugin.ServeHTTP' | 'Plugin.ServeMetrics' = 'Plugin.ServeHTTP',
): Promise<void> {
  const header = new Map<string, string[]>();
  let status = 0;
  const flushHead = (): void => {
    if (status === 0) status = 200;
  };
  let headWritten = false;
  const writeHeadOnce = (): void => {
    flushHead();
    if (!headWritten) {
      headWritten = true;
      sink.writeHead(status, header);
    }
  };
  const rwHandlers = new Map<string, RpcHandler>([
    ['Plugin.Header', () => ({type: HttpHeader, value: header})],
    [
      'Plugin.SyncHeader',
      (args) => {
        header.clear();
        for (const [k, v] of (args as Map<string, string[]>) ?? new Map()) header.set(String(k), v);
        return emptyReply;
      },
    ],
    [
      'Plugin.WriteHeader',
      (args) => {
        const code = Number(args);
        if (code < 100 || code > 999) throw new Error(`invalid WriteHeader code ${code}`);
        if (!headWritten) status = code;
        return emptyReply;
      },
    ],
    [
      'Plugin.Write',
      async (args) => {
        writeHeadOnce();
        await sink.write(args as Buffer);
        return emptyReply;
      },
    ],
  ]);
  const rwId = broker.nextId();
  const rwServed = broker.accept(rwId).then((stream) => new RpcServer(stream, rwHandlers));
  // Awaited after the call; if the call fails first, a later accept timeout must not go unhandled.
  rwServed.catch(() => {});
  let bodyId = 0;
  if (req.body) {
    bodyId = broker.nextId();
    const body = req.body;
    void broker.accept(bodyId).then((stream) => serveBody(body, stream), () => body.destroy());
  }
  const u = new URL(req.url, 'http://placeholder');
  await hooks.call(method, {
    type: ServeHTTPArgs,
    value: {
      ResponseWriterStream: rwId,
      Request: {
        Method: req.method,
        URL: new GoOpaque('', Buffer.from(u.pathname + u.search)),
        Proto: 'HTTP/1.1',
        ProtoMajor: 1,
        ProtoMinor: 1,
        Header: new Map(Object.entries(req.headers)),
        Host: req.host ?? 'localhost',
        RemoteAddr: req.remoteAddr ?? '127.0.0.1:0',
        RequestURI: req.requestURI ?? req.url,
      },
      Context: {
        SessionId: req.sessionId ?? '',
        RequestId: req.requestId ?? '',
        IPAddress: req.ipAddress ?? '',
        AcceptLanguage: req.acceptLanguage ?? '',
        UserAgent: req.userAgent ?? '',
      },
      RequestBodyStream: bodyId,
    },
  });
  writeHeadOnce();
  (await rwServed).close();
}

/** io_rpc.go's serveIOReader: answer each varint request with up to that many body bytes; close on EOF. */
function serveBody(body: Readable, stream: import('node:stream').Duplex): void {
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  const requests: number[] = [];
  let leftover: Buffer = Buffer.alloc(0);
  const pump = (): void => {
    while (requests.length > 0) {
      const want = requests[0];
      if (pending.length === 0 && !ended) {
        body.resume();
        return;
      }
      const n = Math.min(want, pending.length);
      if (n === 0) {
        stream.end();
        requests.length = 0;
        return;
      }
      stream.write(pending.subarray(0, n));
      pending = pending.subarray(n);
      requests.shift();
    }
    if (pending.length > 1 << 20) body.pause();
  };
  body.on('data', (c: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, c]) : c;
    pump();
  });
  body.on('end', () => {
    ended = true;
    pump();
  });
  body.on('error', () => stream.destroy());
  stream.on('data', (c: Buffer) => {
    leftover = Buffer.concat([leftover, c]);
    for (;;) {
      const parsed = readVarint(leftover);
      if (!parsed) break;
      leftover = leftover.subarray(parsed.length);
      requests.push(parsed.value);
    }
    pump();
  });
  stream.on('error', () => body.destroy());
}

function readVarint(b: Buffer): {value: number; length: number} | undefined {
  let u = 0;
  let mul = 1;
  for (let i = 0; i < b.length && i < 10; i++) {
    u += (b[i] & 0x7f) * mul;
    if ((b[i] & 0x80) === 0) return {value: u % 2 === 0 ? u / 2 : -(u + 1) / 2, length: i + 1};
    mul *= 128;
  }
  return undefined;
}
