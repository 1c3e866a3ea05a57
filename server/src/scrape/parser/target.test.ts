import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {applyTargetLabels, parse} from './mod.ts';

const T = [
  {name: 'job', value: 'prometheus'},
  {name: 'instance', value: 'localhost:8067'},
];
const str = (ls: {name: string; value: string}[]): string => ls.map((l) => `${l.name}=${l.value}`).join(',');

describe('applyTargetLabels (honor_labels / honor_timestamps)', () => {
  const s = parse('m{job="exp",instance="x",exported_job="e",a="1"} 1 1000\nn{instance=""} 2\n', 'text/plain').samples;

  it('honor_labels=false: target wins, conflicts get exported_ prefixes (shortest name first, repeated if taken)', () => {
    const r = applyTargetLabels(s[0], T, {honorLabels: false, honorTimestamps: true, scrapeTime: 5000});
    assert.equal(str(r.labels), '__name__=m,a=1,exported_exported_job=exp,exported_instance=x,exported_job=e,instance=localhost:8067,job=prometheus');
    assert.equal(r.timestamp, 1000);
  });

  it('honor_labels=true: exposed labels win, target labels only fill gaps (empty exposed value counts as present)', () => {
    const r = applyTargetLabels(s[0], T, {honorLabels: true, honorTimestamps: false, scrapeTime: 5000});
    assert.equal(str(r.labels), '__name__=m,a=1,exported_job=e,instance=x,job=exp');
    assert.equal(r.timestamp, 5000, 'honor_timestamps=false ignores the exposed timestamp');
    const n = applyTargetLabels(s[1], T, {honorLabels: true, honorTimestamps: true, scrapeTime: 5000});
    assert.equal(str(n.labels), '__name__=n,job=prometheus');
    assert.equal(n.timestamp, 5000, 'no exposed timestamp → scrape time');
    const n2 = applyTargetLabels(s[1], T, {honorLabels: false, honorTimestamps: true, scrapeTime: 5000});
    assert.equal(str(n2.labels), '__name__=n,instance=localhost:8067,job=prometheus');
  });

  it('the two settings are independent', () => {
    for (const honorLabels of [false, true]) {
      for (const honorTimestamps of [false, true]) {
        const r = applyTargetLabels(s[0], T, {honorLabels, honorTimestamps, scrapeTime: 7});
        assert.equal(r.timestamp, honorTimestamps ? 1000 : 7);
        assert.equal(r.labels.find((l) => l.name === 'job')!.value, honorLabels ? 'exp' : 'prometheus');
      }
    }
  });

  it('parse() applies it inline when given target options', () => {
    const r = parse('m{job="x"} 1\n', 'text/plain', {target: {labels: T, honorLabels: false, honorTimestamps: true, scrapeTime: 9}});
    assert.equal(str(r.samples[0].labels), '__name__=m,exported_job=x,instance=localhost:8067,job=prometheus');
    assert.equal(r.samples[0].timestamp, 9);
  });
});
