// Public surface of scrape/: loops and their manager. The parser is scrape/parser/mod.ts.
export {firstScrapeWithinMs, ScrapeLoop, validateScrapeConfig, type Appendable, type LoopOptions, type ScrapeAppender, type ScrapeConfig, type ScrapeLogger, type ScrapeTarget, type TargetHealth} from './loop.ts';
export {ScrapeManager} from './manager.ts';
