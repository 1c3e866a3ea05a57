// net/rpc client: pipelined calls on one stream, replies matched by Seq.

import type {Duplex} from 'node:stream';

import {MessageStream, RequestHeader, RpcConnectionClosed, type Header, type Typed} from './codec.ts';

/** The error string a Go net/rpc server returned (rpc.ServerError). */
export class RpcServerError extends Error {
  override name = 'RpcServerError';
  /** True when the remote side has no such method or service (an older server, a missing hook). */
  get isMissingMethod(): boolean {
    return /^rpc: can't find (method|service) /.test(this.message);
  }
}

interface Pending {
  method: string;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class RpcClient {
  private readonly messages: MessageStream;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closeError: Error | undefined;

  constructor(stream: Duplex) {
    this.messages = new MessageStream(
      stream,
      (header, body) => this.onReply(header, body),
      (err) => this.onClose(err),
    );
  }

  get closed(): boolean {
    return this.closeError !== undefined;
  }

  /** Calls `ServiceMethod` with args; resolves with the decoded reply body. */
  call(serviceMethod: string, args: Typed): Promise<unknown> {
    if (this.closeError) return Promise.reject(this.closeError);
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {method: serviceMethod, resolve, reject});
      try {
        this.messages.send(RequestHeader, {ServiceMethod: serviceMethod, Seq: seq}, args);
      } catch (err) {
        this.pending.delete(seq);
        reject(err as Error);
      }
    });
  }

  close(): void {
    this.messages.close(new RpcConnectionClosed('client closed'));
  }

  private onReply(header: Header, body: unknown): void {
    const seq = Number(header.Seq ?? 0);
    const call = this.pending.get(seq);
    if (!call) return; // Go's client also discards replies nobody waits for.
    this.pending.delete(seq);
    if (header.Error) call.reject(new RpcServerError(header.Error));
    else call.resolve(body);
  }

  private onClose(err: Error): void {
    this.closeError = err;
    for (const call of this.pending.values()) call.reject(new RpcConnectionClosed(`${call.method}: ${err.message}`));
    this.pending.clear();
  }
}
