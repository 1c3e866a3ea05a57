// Content negotiation as Prometheus 2.42–2.48 does it (scrape/scrape.go, model/textparse/interface.go).

/** The exposition formats the parser understands (protobuf is never requested, so never parsed). */
export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

/**
 * The Accept header Prometheus 2.42 … 2.48 sends when protobuf scraping is off (the default;
 * identical in both versions). Prometheus 3.x sends
 * `application/openmetrics-text;version=1.0.0;escaping=…;q=0.6,…,text/plain;version=1.0.0;…,*\/*;q=0.2`,
 * which announces UTF-8 metric names we do not support.
 */
export const SCRAPE_ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** Request headers Prometheus adds to every scrape (plus User-Agent). */
export function scrapeRequestHeaders(timeoutSeconds: number): Record<string, string> {
  return {
    Accept: SCRAPE_ACCEPT_HEADER,
    'Accept-Encoding': 'gzip',
    'X-Prometheus-Scrape-Timeout-Seconds': String(timeoutSeconds),
  };
}

/** Go mime.ParseMediaType's outcome: the lower-cased media type, or an error. */
export interface MediaType {
  mediaType: string;
  params: Record<string, string>;
  error?: string;
}

// RFC 1521 tspecials plus space and controls (Go mime/grammar.go isTokenChar).
function isTokenChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  // ()<>@,;:\"/[]?=
  return '()<>@,;:\\"/[]?='.indexOf(String.fromCharCode(c)) < 0;
}

function consumeToken(v: string): [string, string] {
  let i = 0;
  while (i < v.length && isTokenChar(v.charCodeAt(i))) i++;
  return [v.slice(0, i), v.slice(i)];
}

function trimLeftSpace(v: string): string {
  return v.replace(/^\s+/, '');
}

function consumeValue(v: string): [string, string] {
  if (v === '') return ['', v];
  if (v[0] !== '"') return consumeToken(v);
  let buf = '';
  for (let i = 1; i < v.length; i++) {
    const r = v[i];
    if (r === '"') return [buf, v.slice(i + 1)];
    if (r === '\\' && i + 1 < v.length && isTSpecial(v.charCodeAt(i + 1))) {
      buf += v[i + 1];
      i++;
      continue;
    }
    if (r === '\r' || r === '\n') return ['', v];
    buf += r;
  }
  return ['', v];
}

function isTSpecial(c: number): boolean {
  return '()<>@,;:\\"/[]?='.indexOf(String.fromCharCode(c)) >= 0;
}

function consumeMediaParam(v: string): [string, string, string] {
  let rest = trimLeftSpace(v);
  if (!rest.startsWith(';')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  let param: string;
  [param, rest] = consumeToken(rest);
  param = param.toLowerCase();
  if (param === '') return ['', '', v];
  rest = trimLeftSpace(rest);
  if (!rest.startsWith('=')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  const [value, rest2] = consumeValue(rest);
  if (value === '' && rest2 === rest) return ['', '', v];
  return [param, value, rest2];
}

/** Go's mime.ParseMediaType (RFC 2231 continuations are treated as plain parameters). */
export function parseMediaType(v: string): MediaType {
  const semi = v.indexOf(';');
  const base = semi < 0 ? v : v.slice(0, semi);
  const mediaType = base.toLowerCase().trim();
  const [typ, rest0] = consumeToken(mediaType);
  if (typ === '') return {mediaType: '', params: {}, error: 'mime: no media type'};
  if (rest0 !== '') {
    if (!rest0.startsWith('/')) return {mediaType: '', params: {}, error: 'mime: expected slash after first token'};
    const [sub, rest1] = consumeToken(rest0.slice(1));
    if (sub === '') return {mediaType: '', params: {}, error: 'mime: expected token after slash'};
    if (rest1 !== '') return {mediaType: '', params: {}, error: 'mime: unexpected content after media subtype'};
  }
  const params: Record<string, string> = {};
  let rest = v.slice(base.length);
  while (rest.length > 0) {
    rest = trimLeftSpace(rest);
    if (rest.length === 0) break;
    const [key, value, r] = consumeMediaParam(rest);
    if (key === '') {
      if (r.trim() === ';') break; // trailing semicolon
      return {mediaType, params: {}, error: 'mime: invalid media parameter'};
    }
    if (Object.hasOwn(params, key) && params[key] !== value) {
      return {mediaType: '', params: {}, error: 'mime: duplicate parameter name'};
    }
    params[key] = value;
    rest = r;
  }
  return {mediaType, params};
}

/**
 * Picks the parser for a response Content-Type exactly like Prometheus 2.x textparse.New:
 * empty, unparsable or unknown types fall back to the text format (Prometheus logs
 * "Invalid content type on scrape, using prometheus parser as fallback").
 */
export function negotiate(contentType: string | null | undefined): ExpositionFormat {
  if (!contentType) return 'text';
  const mt = parseMediaType(contentType);
  if (mt.error) return 'text';
  switch (mt.mediaType) {
    case 'application/openmetrics-text':
      return 'openmetrics';
    case 'application/vnd.google.protobuf':
      return 'protobuf';
    default:
      return 'text';
  }
}
