// Public surface of the exposition parser (Prometheus text 0.0.4 and OpenMetrics 1.0).
export {BodySizeLimitError, HTTPStatusError, LimitError, type LimitKind, ParseError, ScrapeError} from './errors.ts';
export {goInt64, parseGoFloat} from './float.ts';
export {type ExpositionFormat, negotiate, parseMediaType, SCRAPE_ACCEPT_HEADER, scrapeRequestHeaders} from './mediatype.ts';
export {
  type FamilyMeta,
  formatFor,
  GO_NAN_BITS,
  type MetricType,
  parse,
  parseEach,
  parseEachSliced,
  type ParsedSample,
  type ParseOptions,
  type ParseResult,
  type ParseSummary,
  type SeriesCache,
  type SliceOptions,
  verifyLabelLimits,
} from './parse.ts';
export {applyTargetLabels, type TargetOptions} from './target.ts';
export {readBody, type ReadBodyResult} from './body.ts';
