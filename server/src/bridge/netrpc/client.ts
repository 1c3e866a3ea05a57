// net/rpc client: pipelined calls on one stream, replies matched by Seq.

import type {Duplex} from 'node:stream';

import type {GoType} from '../gob/index.ts';
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
  resolve: (body: unknown, bodyType: () => GoType) => void;
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
      (header, body, bodyType) => this.onReply(header, body, bodyType),
      (err) => this.onClose(err),
    );
  }

  get closed(): boolean {
    return this.closeError !== undefined;
  }

  /** Calls `ServiceMethod` with args; resolves with the decoded reply body. */
  call(serviceMethod: string, args: Typed): Promise<unknown> {
    return new Promise((resolve, reject) => this.send(serviceMethod, args, (body) => resolve(body), reject));
  }

  /** Like call, also giving the reply's schema as sent, so the value can be re-encoded faithfully. */
  callTyped(serviceMethod: string, args: Typed): Promise<Typed> {
    return new Promise((resolve, reject) =>
      this.send(
        serviceMethod,
        args,
        (value, bodyType) => {
          try {
            resolve({type: bodyType(), value});
          } catch (err) {
            reject(err as Error);
          }
        },
        reject,
      ),
    );
  }

  private send(method: string, args: Typed, resolve: Pending['resolve'], reject: Pending['reject']): void {
    if (this.closeError) {
      reject(this.closeError);
      return;
    }
    const seq = this.seq++;
    this.pending.set(seq, {method, resolve, reject});
    try {
      this.messages.send(RequestHeader, {ServiceMethod: method, Seq: seq}, args);
    } catch (err) {
      this.pending.delete(seq);
      reject(err as Error);
    }
  }

  close(): void {
    this.messages.close(new RpcConnectionClosed('client closed'));
  }

  private onReply(header: Header, body: unknown, bodyType: () => GoType): void {
    const seq = Number(header.Seq ?? 0);
    const call = this.pending.get(seq);
    if (!call) return; // Go's client also discards replies nobody waits for.
    this.pending.delete(seq);
    if (header.Error) call.reject(new RpcServerError(header.Error));
    else call.resolve(body, bodyType);
  }

  private onClose(err: Error): void {
    this.closeError = err;
    for (const call of this.pending.values()) call.reject(new RpcConnectionClosed(`${call.method}: ${err.message}`));
    this.pending.clear();
  }
}
