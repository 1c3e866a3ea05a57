// Keeps one scrape loop per target: targets that appear get a loop (first scrape
// within 2 s), targets that vanish are stopped with staleness markers, and new
// settings reach every loop without a restart.

import {ScrapeLoop, validateScrapeConfig, type Appendable, type LoopOptions, type ScrapeConfig, type ScrapeTarget, type TargetHealth} from './loop.ts';

const keyOf = (t: ScrapeTarget): string => `${t.job}\0${t.instance}\0${t.url}\0${JSON.stringify(t.labels ?? {})}`;

export class ScrapeManager {
  private readonly loops = new Map<string, ScrapeLoop>();
  private stopped = false;

  constructor(
    private readonly store: Appendable,
    private config: ScrapeConfig,
    private readonly opts: LoopOptions = {},
  ) {
    validateScrapeConfig(config);
  }

  /** Makes the running loops match `targets`. */
  async sync(targets: readonly ScrapeTarget[]): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map(targets.map((t) => [keyOf(t), t]));
    const gone = [...this.loops].filter(([k]) => !wanted.has(k));
    for (const [k] of gone) this.loops.delete(k);
    for (const [k, t] of wanted) {
      if (this.loops.has(k)) continue;
      const loop = new ScrapeLoop(t, this.store, this.config, this.opts);
      this.loops.set(k, loop);
      loop.start();
    }
    await Promise.all(gone.map(([, loop]) => loop.stop(true)));
  }

  updateConfig(config: ScrapeConfig): void {
    validateScrapeConfig(config);
    this.config = config;
    for (const loop of this.loops.values()) loop.updateConfig(config);
  }

  /** Stops every loop at once (leadership lost, deactivation); series end with staleness markers. */
  async stop(): Promise<void> {
    this.stopped = true;
    const loops = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(loops.map((l) => l.stop(true)));
  }

  /** Allows sync() again after stop() (leadership regained). */
  resume(): void {
    this.stopped = false;
  }

  health(): TargetHealth[] {
    return [...this.loops.values()].map((l) => ({...l.health}));
  }
}
