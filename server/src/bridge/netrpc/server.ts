// net/rpc server: requests handled concurrently, replies in completion order.

import type {Duplex} from 'node:stream';

import {EmptyStruct, MessageStream, ResponseHeader, type Header, type Typed} from './codec.ts';

/** A method implementation: decoded args in, typed reply out (or throw to send an error string). */
export type RpcHandler = (args: unknown) => Promise<Typed> | Typed;

/** Errors whose message must reach the caller verbatim (everything else too, as Go does). */
export class RpcError extends Error {
  override name = 'RpcError';
}

export const emptyReply: Typed = {type: EmptyStruct, value: {}};

export class RpcServer {
  private readonly messages: MessageStream;
  private inFlight = 0;

  /**
   * @param handlers keyed by "Service.Method".
   * @param onError told about handler failures (they are also sent to the caller).
   */
  constructor(
    stream: Duplex,
    private readonly handlers: ReadonlyMap<string, RpcHandler>,
    private readonly onError: (method: string, err: unknown) => void = () => {},
    onClose: (err: Error) => void = () => {},
  ) {
    this.messages = new MessageStream(stream, (h, body) => void this.dispatch(h, body), onClose);
  }

  get pendingCalls(): number {
    return this.inFlight;
  }

  close(err = new Error('server closed')): void {
    this.messages.close(err);
  }

  private async dispatch(header: Header, body: unknown): Promise<void> {
    const method = header.ServiceMethod ?? '';
    const seq = header.Seq ?? 0;
    const handler = this.handlers.get(method);
    if (!handler) {
      this.reply(method, seq, missingMethodError(method, this.handlers), emptyReply);
      return;
    }
    this.inFlight++;
    try {
      const result = await handler(body);
      this.reply(method, seq, '', result);
    } catch (err) {
      this.onError(method, err);
      this.reply(method, seq, err instanceof Error ? err.message || String(err) : String(err), emptyReply);
    } finally {
      this.inFlight--;
    }
  }

  private reply(method: string, seq: number | bigint, error: string, body: Typed): void {
    if (this.messages.closed) return;
    try {
      this.messages.send(ResponseHeader, {ServiceMethod: method, Seq: seq, Error: error}, error ? emptyReply : body);
    } catch (err) {
      // A reply that cannot be encoded becomes an error reply, like Go's "gob: type mismatch" failures.
      this.onError(method, err);
      if (!error) this.messages.send(ResponseHeader, {ServiceMethod: method, Seq: seq, Error: String(err)}, emptyReply);
    }
  }
}

/** The exact texts of Go's net/rpc server. */
function missingMethodError(method: string, handlers: ReadonlyMap<string, RpcHandler>): string {
  const dot = method.lastIndexOf('.');
  if (dot < 0) return `rpc: service/method request ill-formed: ${method}`;
  const service = method.slice(0, dot);
  for (const key of handlers.keys()) {
    if (key.startsWith(`${service}.`)) return `rpc: can't find method ${method}`;
  }
  return `rpc: can't find service ${method}`;
}
