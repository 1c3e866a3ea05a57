// The dump jobs: status, progress, size, ranges, nodes and failure reasons; create, download
// (plain browser navigation), cancel and remove with confirmation. Refreshes every 2 s while
// a job is queued or running, every 30 s otherwise.
import React, {useRef, useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import {api} from '../client.ts';
import {formatBytes, formatDateTime, formatShortDateTime} from '../format.ts';
import {WithIntl} from '../intl.tsx';
import {common, dumps as m} from '../messages.ts';
import {usePolling} from '../polling.ts';
import {ensureStyles} from '../styles.ts';
import type {CustomSettingProps, DumpJob} from '../types.ts';
import {ConfirmDialog} from './Dialog.tsx';
import {DumpDialog} from './DumpDialog.tsx';
import {ErrorBanner, Loading} from './ErrorBanner.tsx';

export const activeRefreshMs = 2_000;
export const idleRefreshMs = 30_000;

export const isActive = (j: DumpJob): boolean => j.status === 'pending' || j.status === 'in_progress';

type Confirm = {kind: 'cancel' | 'remove'; job: DumpJob} | {kind: 'removeAll'};

function useRangeText(): (from: number | undefined, to: number | undefined) => string {
  const intl = useIntl();
  return (from, to) =>
    intl.formatMessage(m.range, {
      from: from ? formatShortDateTime(intl, from) : intl.formatMessage(common.none),
      to: to ? formatShortDateTime(intl, to) : intl.formatMessage(common.none),
    });
}

/** A range whose two ends never break inside a date. */
function RangeText({from, to}: {from: number | undefined; to: number | undefined}): React.ReactElement {
  const intl = useIntl();
  const end = (ms: number | undefined): React.ReactElement => (
    <span className='mmm-nowrap' title={ms ? formatDateTime(intl, ms) : undefined}>
      {ms ? formatShortDateTime(intl, ms) : intl.formatMessage(common.none)}
    </span>
  );
  return <FormattedMessage {...m.range} values={{from: end(from), to: end(to)}} />;
}

const requestedRange = (j: DumpJob): [number, number] => [j.requested_min_t ?? j.min_t, j.requested_max_t ?? j.max_t];

function StatusCell({job}: {job: DumpJob}): React.ReactElement {
  const intl = useIntl();
  switch (job.status) {
    case 'pending':
      return <span className='mmm-badge mmm-wait'>{intl.formatMessage(m.pending)}</span>;
    case 'in_progress': {
      const fraction = Math.min(1, Math.max(0, job.progress ?? 0));
      const percent = Math.round(fraction * 100);
      return (
        <>
          <span className='mmm-badge mmm-wait'>{intl.formatMessage(m.inProgress)}</span>{' '}
          <span className='mmm-muted' data-testid='dump-progress-text'>
            {intl.formatMessage(m.progress, {percent: fraction})}
          </span>
          <div className='mmm-progress' role='progressbar' aria-label={intl.formatMessage(m.progressLabel)} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
            <div style={{width: `${percent}%`}} />
          </div>
        </>
      );
    }
    case 'success':
      if (job.expired) {
        return (
          <>
            <span className='mmm-badge mmm-neutral'>{intl.formatMessage(m.expired)}</span>
            <div className='mmm-muted' data-testid='dump-expired-reason'>
              {intl.formatMessage(m.expiredReason, {reason: job.expired_reason || intl.formatMessage(m.expiredDefault)})}
            </div>
          </>
        );
      }
      return (
        <>
          <span className='mmm-badge mmm-ok'>{intl.formatMessage(m.success)}</span>
          {job.warning && (
            <div className='mmm-muted' data-testid='dump-warning'>
              {job.warning}
            </div>
          )}
        </>
      );
    default:
      return (
        <>
          <span className='mmm-badge mmm-bad'>{intl.formatMessage(m.error)}</span>
          {job.error && (
            <div className='mmm-error-text' data-testid='dump-error-reason'>
              {job.error}
            </div>
          )}
        </>
      );
  }
}

function JobRow({job, onConfirm}: {job: DumpJob; onConfirm: (c: Confirm) => void}): React.ReactElement {
  const intl = useIntl();
  const [from, to] = requestedRange(job);
  const downloadable = job.status === 'success' && !job.expired;
  const hasActual = job.status === 'success' && job.actual_min_t !== undefined && job.actual_max_t !== undefined;
  return (
    <tr data-testid='dump-job-row' data-job-id={job.id} data-status={job.status}>
      <td className='mmm-nowrap' title={formatDateTime(intl, job.create_at)}>
        {formatShortDateTime(intl, job.create_at)}
      </td>
      <td>
        <StatusCell job={job} />
      </td>
      <td>
        <div>
          <FormattedMessage {...m.requested} values={{range: <RangeText from={from} to={to} />}} />
        </div>
        {hasActual && (
          <div className='mmm-muted' data-testid='dump-actual-range'>
            {job.actual_min_t! > 0 ? <FormattedMessage {...m.actual} values={{range: <RangeText from={job.actual_min_t} to={job.actual_max_t} />}} /> : intl.formatMessage(m.noData)}
          </div>
        )}
      </td>
      <td className='mmm-nowrap' data-testid='dump-size'>
        {downloadable && typeof job.size === 'number' ? formatBytes(intl, job.size) : intl.formatMessage(common.none)}
      </td>
      <td className='mmm-mono' data-testid='dump-nodes'>
        {job.nodes && job.nodes.length > 0
          ? job.nodes.map((n, i) => (
              <div key={i} className='mmm-nowrap'>
                {n}
              </div>
            ))
          : intl.formatMessage(common.none)}
      </td>
      <td>
        <div className='mmm-actions'>
          {downloadable && (
            <a className='mmm-btn mmm-btn-small' href={api.downloadUrl(job.id)} download={job.file_name || true} data-testid='dump-download'>
              {intl.formatMessage(m.download)}
            </a>
          )}
          {isActive(job) ? (
            <button type='button' className='mmm-btn mmm-btn-small' data-testid='dump-cancel' onClick={() => onConfirm({kind: 'cancel', job})}>
              {intl.formatMessage(m.cancelJob)}
            </button>
          ) : (
            <button type='button' className='mmm-btn mmm-btn-small' data-testid='dump-remove' onClick={() => onConfirm({kind: 'remove', job})}>
              {intl.formatMessage(m.remove)}
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}

function DumpsPanel(): React.ReactElement {
  const intl = useIntl();
  const rangeText = useRangeText();
  const [jobs, setJobs] = useState<DumpJob[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const jobsRef = useRef<DumpJob[]>([]);

  const refresh = usePolling(
    async (signal) => {
      try {
        const list = (await api.jobs(signal)) ?? [];
        if (signal.aborted) return;
        jobsRef.current = list;
        setJobs(list);
        setLoadError(null);
      } catch (err) {
        if (!signal.aborted) setLoadError((err as Error).message);
      }
    },
    () => (jobsRef.current.some(isActive) ? activeRefreshMs : idleRefreshMs),
  );

  const act = async (action: () => Promise<unknown>): Promise<void> => {
    setActionError(null);
    try {
      await action();
    } catch (err) {
      setActionError((err as Error).message);
    }
    await refresh();
  };

  const runConfirmed = (c: Confirm): void => {
    setConfirm(null);
    if (c.kind === 'cancel') void act(() => api.cancelJob(c.job.id));
    else if (c.kind === 'remove') void act(() => api.deleteJob(c.job.id));
    else void act(() => api.deleteAllJobs());
  };

  const confirmDialog = (c: Confirm): React.ReactElement => {
    if (c.kind === 'removeAll') {
      return (
        <ConfirmDialog
          title={intl.formatMessage(m.confirmRemoveAllTitle)}
          body={intl.formatMessage(m.confirmRemoveAllBody, {count: jobs?.length ?? 0})}
          confirmLabel={intl.formatMessage(m.confirmRemoveOk)}
          cancelLabel={intl.formatMessage(common.cancel)}
          onConfirm={() => runConfirmed(c)}
          onCancel={() => setConfirm(null)}
        />
      );
    }
    const range = rangeText(...requestedRange(c.job));
    const cancel = c.kind === 'cancel';
    return (
      <ConfirmDialog
        title={intl.formatMessage(cancel ? m.confirmCancelTitle : m.confirmRemoveTitle)}
        body={intl.formatMessage(cancel ? m.confirmCancelBody : m.confirmRemoveBody, {range})}
        confirmLabel={intl.formatMessage(cancel ? m.confirmCancelOk : m.confirmRemoveOk)}
        cancelLabel={intl.formatMessage(cancel ? m.confirmCancelBack : common.cancel)}
        onConfirm={() => runConfirmed(c)}
        onCancel={() => setConfirm(null)}
      />
    );
  };

  const error = actionError ?? loadError;
  return (
    <div className='mmm mmm-box' data-testid='metrics-dumps'>
      <div className='mmm-toolbar'>
        <button type='button' className='mmm-btn mmm-btn-primary btn btn-primary' data-testid='dumps-create' onClick={() => setCreating(true)}>
          {intl.formatMessage(m.create)}
        </button>
        <button
          type='button'
          className='mmm-btn mmm-btn-danger btn btn-danger'
          data-testid='dumps-remove-all'
          disabled={!jobs || jobs.length === 0}
          onClick={() => setConfirm({kind: 'removeAll'})}
        >
          {intl.formatMessage(m.removeAll)}
        </button>
      </div>
      {error && <ErrorBanner message={error} onDismiss={actionError ? () => setActionError(null) : undefined} />}
      {jobs === null ? (
        !loadError && <Loading />
      ) : jobs.length === 0 ? (
        <p className='mmm-muted' data-testid='dumps-empty'>
          {intl.formatMessage(m.empty)}
        </p>
      ) : (
        <div className='mmm-table-wrap'>
          <table className='mmm-table' data-testid='jobTable'>
            <thead>
              <tr>
                <th scope='col'>{intl.formatMessage(m.colCreated)}</th>
                <th scope='col'>{intl.formatMessage(m.colStatus)}</th>
                <th scope='col'>{intl.formatMessage(m.colRange)}</th>
                <th scope='col'>{intl.formatMessage(m.colSize)}</th>
                <th scope='col'>{intl.formatMessage(m.colNodes)}</th>
                <th scope='col'>{intl.formatMessage(m.colActions)}</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <JobRow key={j.id} job={j} onConfirm={setConfirm} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && (
        <DumpDialog
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            void refresh();
          }}
        />
      )}
      {confirm && confirmDialog(confirm)}
    </div>
  );
}

export default function Dumps(_props: CustomSettingProps): React.ReactElement {
  ensureStyles();
  return (
    <WithIntl>
      <DumpsPanel />
    </WithIntl>
  );
}
