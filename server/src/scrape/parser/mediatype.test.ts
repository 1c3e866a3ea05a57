import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {negotiate, parseMediaType, SCRAPE_ACCEPT_HEADER, scrapeRequestHeaders} from './mod.ts';

describe('content negotiation', () => {
  it('sends the Accept header of Prometheus 2.42–2.48', () => {
    assert.equal(
      SCRAPE_ACCEPT_HEADER,
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    );
    assert.deepEqual(scrapeRequestHeaders(10), {Accept: SCRAPE_ACCEPT_HEADER, 'Accept-Encoding': 'gzip', 'X-Prometheus-Scrape-Timeout-Seconds': '10'});
  });

  it('detects the format like textparse.New', () => {
    const cases: [string | null, string][] = [
      [null, 'text'],
      ['', 'text'],
      ['text/plain; version=0.0.4; charset=utf-8', 'text'],
      ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
      ['application/openmetrics-text;version=0.0.1', 'openmetrics'],
      ['APPLICATION/OpenMetrics-Text', 'openmetrics'],
      ['application/openmetrics-text;', 'openmetrics'], // trailing semicolon is fine
      ['application/openmetrics-text; version="1.0.0"', 'openmetrics'],
      ['application/openmetrics-text; version', 'text'], // invalid parameter → fallback
      ['application/openmetrics-text; a=1; a=2', 'text'], // duplicate parameter → fallback
      ['application/openmetrics-text/x', 'text'],
      ['openmetrics', 'text'],
      ['application/json', 'text'],
      ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', 'protobuf'],
    ];
    for (const [ct, want] of cases) assert.equal(negotiate(ct), want, String(ct));
  });

  it('parses media types like Go mime.ParseMediaType', () => {
    assert.deepEqual(parseMediaType('Text/Plain ; Version=0.0.4 ;charset="utf-8"'), {mediaType: 'text/plain', params: {version: '0.0.4', charset: 'utf-8'}});
    assert.match(parseMediaType('/x').error!, /no media type/);
  });
});
