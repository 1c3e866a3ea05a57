// The create-dump dialog: a date and time range (browser time zone) with quick presets,
// checked here before the server checks it again.
import React, {useState} from 'react';
import {FormattedMessage, useIntl, type MessageDescriptor} from 'react-intl';

import {api} from '../client.ts';
import {fromLocalInput, toLocalInput} from '../format.ts';
import {common, dumps as m} from '../messages.ts';
import type {DumpJob} from '../types.ts';
import {Dialog} from './Dialog.tsx';
import {ErrorBanner} from './ErrorBanner.tsx';

/** The server's limit (server/src/dump/jobs.ts DEFAULT_MAX_SPAN_MS). */
export const maxSpanDays = 31;
/** The server accepts an end up to a minute ahead (clock skew). */
const futureSlackMs = 60_000;

const hour = 3_600_000;
export const presets = [
  {key: '1h', ms: hour, label: m.preset1h},
  {key: '24h', ms: 24 * hour, label: m.preset24h},
  {key: '3d', ms: 72 * hour, label: m.preset3d},
  {key: '7d', ms: 168 * hour, label: m.preset7d},
] as const;

export type PresetKey = (typeof presets)[number]['key'];

export interface RangeProblem {
  field: 'from' | 'to';
  message: MessageDescriptor;
  values?: Record<string, number>;
}

export function validateRange(from: string, to: string, now: number): RangeProblem | null {
  const min = fromLocalInput(from);
  const max = fromLocalInput(to);
  if (Number.isNaN(min)) return {field: 'from', message: m.invalidFrom};
  if (Number.isNaN(max)) return {field: 'to', message: m.invalidTo};
  if (min >= max) return {field: 'from', message: m.fromAfterTo};
  if (max > now + futureSlackMs) return {field: 'to', message: m.toInFuture};
  if (max - min > maxSpanDays * 24 * hour) return {field: 'from', message: m.tooLong, values: {days: maxSpanDays}};
  return null;
}

function presetRange(ms: number, now: number): {from: string; to: string} {
  // datetime-local has minute precision: end at the current minute, start a whole span earlier.
  const to = Math.floor(now / 60_000) * 60_000;
  return {from: toLocalInput(to - ms), to: toLocalInput(to)};
}

export interface DumpDialogProps {
  onClose: () => void;
  onCreated: (job: DumpJob) => void;
  /** For tests. */
  now?: () => number;
}

export function DumpDialog({onClose, onCreated, now = Date.now}: DumpDialogProps): React.ReactElement {
  const intl = useIntl();
  const [range, setRange] = useState(() => presetRange(24 * hour, now()));
  const [preset, setPreset] = useState<PresetKey | null>('24h');
  const [submitting, setSubmitting] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);
  const problem = validateRange(range.from, range.to, now());

  const choose = (key: PresetKey, ms: number): void => {
    setRange(presetRange(ms, now()));
    setPreset(key);
    setServerError(null);
  };
  const edit = (field: 'from' | 'to', value: string): void => {
    setRange((r) => ({...r, [field]: value}));
    setPreset(null);
    setServerError(null);
  };
  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    if (problem || submitting) return;
    setSubmitting(true);
    setServerError(null);
    try {
      // A preset means "the last <span> until now": the fields show minutes, the request ends
      // at this millisecond, so the newest samples are in the dump.
      const span = presets.find((p) => p.key === preset)?.ms;
      const end = now();
      const job = span !== undefined ? await api.createJob(end - span, end) : await api.createJob(fromLocalInput(range.from), fromLocalInput(range.to));
      onCreated(job);
    } catch (err) {
      setServerError((err as Error).message);
      setSubmitting(false);
    }
  };

  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';
  const problemId = 'mmm-dump-range-problem';
  const field = (name: 'from' | 'to', label: MessageDescriptor): React.ReactElement => {
    const invalid = problem?.field === name;
    return (
      <div className='mmm-field'>
        <label htmlFor={`mmm-dump-${name}`}>{intl.formatMessage(label)}</label>
        <input
          id={`mmm-dump-${name}`}
          type='datetime-local'
          data-testid={`dump-${name}`}
          value={range[name]}
          max={toLocalInput(now() + futureSlackMs)}
          required
          aria-invalid={invalid}
          aria-describedby={invalid ? problemId : undefined}
          onChange={(e) => edit(name, e.target.value)}
        />
      </div>
    );
  };

  return (
    <Dialog title={intl.formatMessage(m.dialogTitle)} onClose={onClose} testId='dump-dialog'>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className='mmm-presets' role='group' aria-label={intl.formatMessage(m.presets)}>
          {presets.map((p) => (
            <button
              key={p.key}
              type='button'
              className='mmm-btn mmm-btn-small'
              data-testid={`dump-preset-${p.key}`}
              aria-pressed={preset === p.key}
              onClick={() => choose(p.key, p.ms)}
            >
              {intl.formatMessage(p.label)}
            </button>
          ))}
        </div>
        {field('from', m.from)}
        {field('to', m.to)}
        <p className='mmm-muted'>
          <FormattedMessage {...m.timeZone} values={{zone}} />
        </p>
        {problem && (
          <p id={problemId} className='mmm-error-text' role='alert' data-testid='dump-validation'>
            {intl.formatMessage(problem.message, problem.values)}
          </p>
        )}
        {serverError && <ErrorBanner message={serverError} />}
        <div className='mmm-dialog-actions'>
          <button type='button' className='mmm-btn btn btn-tertiary' onClick={onClose}>
            {intl.formatMessage(common.cancel)}
          </button>
          <button type='submit' className='mmm-btn mmm-btn-primary btn btn-primary' data-testid='dump-submit' disabled={Boolean(problem) || submitting}>
            {intl.formatMessage(submitting ? m.submitting : m.submit)}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
