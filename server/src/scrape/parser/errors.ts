// Error types of the scrape parser. Every failure of parse()/readBody() is one of these.

/** Base class: anything that makes a scrape fail (Prometheus reports it as the scrape error). */
export class ScrapeError extends Error {
  override name = 'ScrapeError';
}

/** The exposition is malformed or breaks a rule Prometheus enforces while ingesting it. */
export class ParseError extends ScrapeError {
  override name = 'ParseError';
  constructor(
    /** What is wrong, in Prometheus' words where it has some. */
    readonly reason: string,
    /** 1-based line of the offending token. */
    readonly line: number,
    /** The entry up to and including the offending token, JSON-quoted, at most ~120 chars. */
    readonly excerpt: string,
    /** Offset of the offending token in the decoded body (UTF-16 units; bytes for non-UTF-8 bodies). */
    readonly offset: number,
  ) {
    super(`line ${line}: ${reason}${excerpt ? ` while parsing: ${excerpt}` : ''}`);
  }
}

export type LimitKind = 'sample_limit' | 'label_limit' | 'label_name_length_limit' | 'label_value_length_limit';

/** A per-scrape limit was exceeded; the whole scrape is rejected (no partial result). */
export class LimitError extends ScrapeError {
  override name = 'LimitError';
  constructor(
    readonly kind: LimitKind,
    message: string,
  ) {
    super(message);
  }
}

/** The (decompressed) body reached body_size_limit. Message as Prometheus' errBodySizeLimit. */
export class BodySizeLimitError extends ScrapeError {
  override name = 'BodySizeLimitError';
  constructor(readonly limit: number) {
    super('body size limit exceeded');
  }
}

/** The target answered with a status other than 200 (Prometheus: "server returned HTTP status …"). */
export class HTTPStatusError extends ScrapeError {
  override name = 'HTTPStatusError';
  constructor(
    readonly status: number,
    statusText: string,
  ) {
    super(`server returned HTTP status ${status} ${statusText}`.trimEnd());
  }
}

/** Internal: thrown by the lexers/parsers with an offset; parse() turns it into a ParseError. */
export class SyntaxFailure {
  constructor(
    readonly reason: string,
    /** Offset of the offending token. */
    readonly at: number,
    /** Offset of the start of the entry being parsed. */
    readonly entryStart: number,
    /** Offset just past the offending input (excerpt end). */
    readonly end: number,
  ) {}
}
