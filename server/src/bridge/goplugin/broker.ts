// go-plugin's MuxBroker: extra yamux streams named by 4-byte little-endian ids.
// Accept(id) waits for the peer to dial an id we reserved; Dial(id) opens a
// stream for an id the peer reserved. Spec: mattermost-plugin-protocol.md §4.3.

import type {Duplex} from 'node:stream';

import {closeQuietly, readExactly, StreamTimeoutError, uint32LE} from './io.ts';

/** What the broker needs from a yamux session. */
export interface StreamOpener {
  open(): Duplex;
}

/** go-plugin's accept timeout, on both sides. */
export const brokerAcceptTimeoutMs = 5_000;

export class BrokerError extends Error {
  override name = 'BrokerError';
}

interface Slot {
  stream?: Duplex;
  waiter?: (stream: Duplex) => void;
  timer?: NodeJS.Timeout;
}

export class MuxBroker {
  private lastId = 0;
  private readonly slots = new Map<number, Slot>();
  private closed = false;

  constructor(
    private readonly session: StreamOpener,
    private readonly timeoutMs = brokerAcceptTimeoutMs,
  ) {}

  /** Reserves an id for a stream the peer will dial. */
  nextId(): number {
    this.lastId = (this.lastId + 1) >>> 0 || 1;
    return this.lastId;
  }

  /** Waits for the peer to dial `id`, acknowledges it, and returns the stream. */
  async accept(id: number): Promise<Duplex> {
    const slot = this.slot(id);
    let stream = slot.stream;
    if (!stream) {
      stream = await new Promise<Duplex>((resolve, reject) => {
        slot.waiter = resolve;
        slot.timer = setTimeout(() => {
          this.slots.delete(id);
          reject(new StreamTimeoutError(`timeout waiting for accept of broker id ${id}`));
        }, this.timeoutMs);
      });
    }
    if (slot.timer) clearTimeout(slot.timer);
    this.slots.delete(id);
    stream.write(uint32LE(id));
    return stream;
  }

  /** Opens a stream for an id the peer reserved and waits for its acknowledgement. */
  async dial(id: number): Promise<Duplex> {
    if (this.closed) throw new BrokerError('broker closed');
    const stream = this.session.open();
    stream.write(uint32LE(id));
    try {
      const ack = await readExactly(stream, 4, this.timeoutMs);
      const got = ack.readUInt32LE(0);
      if (got !== id) throw new BrokerError(`broker dial: expected ack for id ${id}, got ${got}`);
      return stream;
    } catch (err) {
      stream.destroy();
      throw err instanceof BrokerError ? err : new BrokerError(`broker dial of id ${id}: ${(err as Error).message}`);
    }
  }

  /** Routes an inbound stream by its id prefix to the matching accept (waiting up to the timeout). */
  async handleInbound(stream: Duplex): Promise<void> {
    let id: number;
    try {
      id = (await readExactly(stream, 4, this.timeoutMs)).readUInt32LE(0);
    } catch {
      stream.destroy();
      return;
    }
    const slot = this.slot(id);
    if (slot.waiter) {
      slot.waiter(stream);
      return;
    }
    if (slot.stream) {
      // Two streams for one id: the later one is refused.
      closeQuietly(stream);
      return;
    }
    // A parked stream may die with the session before anyone accepts it.
    stream.on('error', () => {});
    slot.stream = stream;
    slot.timer = setTimeout(() => {
      this.slots.delete(id);
      closeQuietly(stream);
    }, this.timeoutMs);
  }

  close(): void {
    this.closed = true;
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.stream) slot.stream.destroy();
    }
    this.slots.clear();
  }

  private slot(id: number): Slot {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = {};
      this.slots.set(id, slot);
    }
    return slot;
  }
}
