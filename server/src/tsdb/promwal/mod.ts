// Public surface of tsdb/promwal: Prometheus' own WAL, read once to import the Go plugin's head.
export {hasPrometheusWal, readPrometheusWal, type WalProblem, type WalVisitor} from './reader.ts';
export {importPrometheusWal, planPrometheusWalImport, PROMETHEUS_WAL_DIR, type ImportPrometheusWalInput, type ImportPrometheusWalResult} from './import.ts';
