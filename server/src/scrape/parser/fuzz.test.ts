// Fuzz: mutated expositions must yield a result or a ParseError — never another exception,
// never a hang. SCRAPE_FUZZ_CASES raises the case count (default 100 000).
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {ParseError, parse} from './mod.ts';
import {mutate, seedCorpus} from './testing/fuzz.ts';
import {rng} from './testing/mattermost.ts';

const CASES = Number(process.env.SCRAPE_FUZZ_CASES ?? 100_000);
const CTS = ['text/plain; version=0.0.4', 'application/openmetrics-text; version=1.0.0'];

describe('fuzz', () => {
  it(`${CASES} mutated expositions: ParseError or a result`, () => {
    const r = rng(Number(process.env.SCRAPE_FUZZ_SEED ?? 1234));
    const corpus = seedCorpus();
    let ok = 0;
    let errs = 0;
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const seed = corpus[Math.floor(r() * corpus.length)];
      const body = mutate(seed, r);
      const ct = CTS[i & 1];
      const t0 = performance.now();
      try {
        const res = parse(body, ct);
        for (const s of res.samples) {
          assert.ok(s.labels.length > 0 && s.labels.some((l) => l.name === '__name__'));
          for (let k = 1; k < s.labels.length; k++) assert.ok(s.labels[k - 1].name < s.labels[k].name);
          for (const l of s.labels) assert.notEqual(l.value, '');
        }
        ok++;
      } catch (e) {
        if (!(e instanceof ParseError)) {
          assert.fail(`case ${i} (${ct}) threw ${String(e)}\nbody: ${JSON.stringify(body.toString('latin1'))}`);
        }
        errs++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    assert.ok(slowest < 1000, `no case may take a second (slowest ${slowest.toFixed(1)} ms)`);
    assert.ok(ok > CASES / 50 && errs > CASES / 50, `both outcomes exercised (ok ${ok}, errors ${errs})`);
  });
});
