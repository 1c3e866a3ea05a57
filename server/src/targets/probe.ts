// Node-exporter availability: most Mattermost hosts run no node_exporter, and scraping
// a closed port records `up{job="node"} == 0` forever. So a node-exporter target is only
// scraped once a TCP connect to it succeeded. Results are cached: a host that did not
// answer is tried again after `reprobeMs` (1 h); a host that answered is re-checked
// after the same period and dropped if it no longer answers (in between, its outage
// shows as up == 0, which is then a real signal).

import net from 'node:net';

export type ProbeFn = (host: string, port: number, timeoutMs: number) => Promise<boolean>;

/** TCP connect probe: true when the port accepts a connection within timeoutMs. */
export const tcpProbe: ProbeFn = (host, port, timeoutMs) =>
  new Promise((resolve) => {
    const socket = net.connect({host, port});
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });

export interface ProbeChange {
  host: string;
  port: number;
  available: boolean;
}

export class AvailabilityCache {
  private readonly entries = new Map<string, {available: boolean; checkedAt: number}>();

  constructor(
    private readonly probe: ProbeFn = tcpProbe,
    private readonly reprobeMs = 3_600_000,
    private readonly timeoutMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Probes the endpoints whose result is missing or older than reprobeMs; returns what changed. */
  async refresh(endpoints: ReadonlyArray<{host: string; port: number}>): Promise<ProbeChange[]> {
    const t = this.now();
    const due = endpoints.filter((e) => {
      const c = this.entries.get(key(e.host, e.port));
      return !c || t - c.checkedAt >= this.reprobeMs;
    });
    const changes: ProbeChange[] = [];
    await Promise.all(
      due.map(async (e) => {
        const available = await this.probe(e.host, e.port, this.timeoutMs).catch(() => false);
        const k = key(e.host, e.port);
        const before = this.entries.get(k);
        this.entries.set(k, {available, checkedAt: this.now()});
        if (!before || before.available !== available) changes.push({host: e.host, port: e.port, available});
      }),
    );
    // Forget endpoints no longer asked for, so a returning host is probed afresh.
    const wanted = new Set(endpoints.map((e) => key(e.host, e.port)));
    for (const k of this.entries.keys()) if (!wanted.has(k)) this.entries.delete(k);
    return changes;
  }

  /** Unknown endpoints count as unavailable. */
  isAvailable(host: string, port: number): boolean {
    return this.entries.get(key(host, port))?.available === true;
  }

  clear(): void {
    this.entries.clear();
  }
}

function key(host: string, port: number): string {
  return `${host}\0${port}`;
}
