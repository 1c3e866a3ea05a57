// net/rpc's gob codec on one byte stream: one gob Encoder per direction for the
// stream's whole life, and every message pair (header + body) written at once.
// Spec: mattermost-plugin-protocol.md §3.1.

import type {Duplex} from 'node:stream';

import {Decoder, Encoder, GobError, struct, type GoType} from '../gob/index.ts';

export const RequestHeader = struct('Request', [
  ['ServiceMethod', 'string'],
  ['Seq', 'uint'],
]);
export const ResponseHeader = struct('Response', [
  ['ServiceMethod', 'string'],
  ['Seq', 'uint'],
  ['Error', 'string'],
]);
/** struct{}{}: Go's placeholder body for errors and for methods without results. */
export const EmptyStruct = struct('', []);

export interface Header {
  ServiceMethod?: string;
  Seq?: number | bigint;
  Error?: string;
}

/** A value with the Go type it is encoded as. */
export interface Typed {
  type: GoType;
  value: unknown;
}

/** Messages smaller than this are concatenated into one write. */
const coalesceBelowBytes = 64 * 1024;

export class RpcConnectionClosed extends Error {
  override name = 'RpcConnectionClosed';
}

/**
 * Reads (header, body) pairs off a stream and writes pairs atomically. The owner
 * supplies what to do with each pair; decoding errors close the stream, as Go does.
 */
export class MessageStream {
  private readonly encoder = new Encoder();
  private readonly decoder = new Decoder();
  private header: Header | undefined;
  private closedError: Error | undefined;

  constructor(
    readonly stream: Duplex,
    private readonly onPair: (header: Header, body: unknown, bodyType: () => GoType) => void,
    private readonly onClose: (err: Error) => void,
  ) {
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('end', () => this.close(new RpcConnectionClosed('connection closed by peer')));
    stream.on('error', (err: Error) => this.close(err));
    stream.on('close', () => this.close(new RpcConnectionClosed('connection closed')));
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /**
   * Writes header and body in one synchronous burst, so pairs never interleave.
   * Long byte slices in the body go to the stream by reference (a 4 MiB Write is
   * never copied here): they must not change until the call is answered.
   */
  send(headerType: GoType, header: Header, body: Typed): void {
    if (this.closedError) throw this.closedError;
    const chunks = this.encoder.encodeChunks(headerType, header);
    for (const chunk of this.encoder.encodeChunks(body.type, body.value)) chunks.push(chunk);
    let size = 0;
    for (const chunk of chunks) size += chunk.length;
    if (size < coalesceBelowBytes) {
      // A small message (every hook call) is cheaper as one write than as several.
      this.stream.write(Buffer.concat(chunks, size));
      return;
    }
    this.stream.cork();
    try {
      for (const chunk of chunks) this.stream.write(chunk);
    } finally {
      this.stream.uncork();
    }
  }

  close(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.onClose(err);
    if (!this.stream.destroyed) this.stream.end();
  }

  private receive(chunk: Buffer): void {
    if (this.closedError) return;
    this.decoder.push(chunk);
    try {
      for (let v = this.decoder.next(); v; v = this.decoder.next()) {
        if (this.header === undefined) {
          this.header = v.value as Header;
        } else {
          const header = this.header;
          this.header = undefined;
          const typeId = v.typeId;
          this.onPair(header, v.value, () => this.decoder.goType(typeId));
        }
      }
    } catch (err) {
      const reason = err instanceof GobError ? err : new GobError(String(err));
      this.close(reason);
      this.stream.destroy();
    }
  }
}
