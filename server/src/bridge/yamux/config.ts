// Session tuning knobs, named after hashicorp/yamux's Config (SPEC.md §8).

import {ConfigError} from './errors.ts';
import {INITIAL_STREAM_WINDOW, MAX_UINT32} from './frame.ts';

export interface YamuxConfig {
  /** Inbound streams that may wait for accept(); one more is answered with RST. */
  acceptBacklog: number;
  /** Send a Ping every keepAliveIntervalMs and close the session when it goes unanswered. */
  enableKeepAlive: boolean;
  /** Time between keepalive pings, in milliseconds. */
  keepAliveIntervalMs: number;
  /**
   * Safety valve, in milliseconds: a ping answer that takes longer, or queued frames
   * the connection cannot take for longer, close the session.
   */
  connectionWriteTimeoutMs: number;
  /** Largest receive window we grant per stream, in bytes (≥ 256 KiB). */
  maxStreamWindowSize: number;
  /** An opened stream not acknowledged in this many milliseconds closes the session; 0 = never. */
  streamOpenTimeoutMs: number;
  /** A stream we half-closed that the peer does not close in this many milliseconds is reset; 0 = never. */
  streamCloseTimeoutMs: number;
}

/** Go's yamux.DefaultConfig(), which both go-plugin ends use. */
export const defaultConfig: Readonly<YamuxConfig> = Object.freeze({
  acceptBacklog: 256,
  enableKeepAlive: true,
  keepAliveIntervalMs: 30_000,
  connectionWriteTimeoutMs: 10_000,
  maxStreamWindowSize: INITIAL_STREAM_WINDOW,
  streamOpenTimeoutMs: 75_000,
  streamCloseTimeoutMs: 300_000,
});

/** Longest delay Node's timers take (larger ones fire at once). */
const MAX_TIMER_MS = 0x7fff_ffff;

/** Throws ConfigError on a value that cannot work. */
export function verifyConfig(c: YamuxConfig): void {
  const positiveInt = (name: keyof YamuxConfig, max: number): void => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > max) {
      throw new ConfigError(`${name} must be an integer in 1..${max}, got ${String(v)}`);
    }
  };
  const timeout = (name: keyof YamuxConfig, allowZero: boolean): void => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIMER_MS || (!allowZero && v === 0)) {
      throw new ConfigError(`${name} must be ${allowZero ? '≥ 0' : '> 0'} and ≤ ${MAX_TIMER_MS} ms, got ${String(v)}`);
    }
  };
  if (typeof c !== 'object' || c === null) throw new ConfigError('config must be an object');
  positiveInt('acceptBacklog', 0x7fff_ffff);
  if (typeof c.enableKeepAlive !== 'boolean') throw new ConfigError('enableKeepAlive must be a boolean');
  timeout('keepAliveIntervalMs', false);
  timeout('connectionWriteTimeoutMs', false);
  positiveInt('maxStreamWindowSize', MAX_UINT32);
  if (c.maxStreamWindowSize < INITIAL_STREAM_WINDOW) {
    throw new ConfigError(`maxStreamWindowSize must be at least ${INITIAL_STREAM_WINDOW}, got ${c.maxStreamWindowSize}`);
  }
  timeout('streamOpenTimeoutMs', true);
  timeout('streamCloseTimeoutMs', true);
}
