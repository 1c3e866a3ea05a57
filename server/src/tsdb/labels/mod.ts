// Public surface of tsdb/labels.
export {type Label, type Labels, compareLabels, compareStrings, detached, labelValue, labelsKey, labelsString, toLabels} from './labels.ts';
export {matcherTest, type Matcher, type MatchType} from './matcher.ts';
export {compileAnchored, re2ToJs} from './regex.ts';
