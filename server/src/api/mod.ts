// The plugin's HTTP API behind ServeHTTP.
export {errorResponse, HttpError, Router, type Handler, type Params, type RouterOptions} from './router.ts';
export {statusBody, tsdbStatsBody, type StatusSource} from './status.ts';
export {addJobRoutes, parseRange, type JobsSource} from './jobs.ts';
export {
  addQueryRoutes,
  answerLabels,
  answerLabelValues,
  answerQuery,
  answerSeries,
  batchQuery,
  decodeBatchRequest,
  type BatchQueryResult,
  type PrometheusAnswer,
  type PromQLEngine,
  type QueryApiOptions,
  type QueryParams,
  withPrometheusErrorEnvelope,
} from './prometheus.ts';
