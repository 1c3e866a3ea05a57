// Public surface of tsdb/querier: blocks as SeriesSources, and one SeriesSource over many.
export {blockSource} from './block.ts';
export {type ColumnarSamples, SampleColumns, appendSamples, isColumnar} from './columns.ts';
export {mergeSources, mergeSeriesSets, mergeSamples, preferSample} from './merge.ts';
export {type CompiledMatcher, compileMatcher, compileMatchers, matchesAll} from './matchers.ts';
export {memorySource, toReadSample} from './memory.ts';
