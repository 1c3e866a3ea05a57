// Upstream's TSDB stats table (samples, maximum series, oldest and newest timestamps),
// refreshed now and then instead of once per page load.
import React, {useState} from 'react';
import {useIntl} from 'react-intl';

import {api} from '../client.ts';
import {formatDateTime} from '../format.ts';
import {WithIntl} from '../intl.tsx';
import {common, stats as m} from '../messages.ts';
import {usePolling} from '../polling.ts';
import {ensureStyles} from '../styles.ts';
import type {CustomSettingProps, TSDBStats} from '../types.ts';
import {ErrorBanner, Loading} from './ErrorBanner.tsx';

export const statsRefreshMs = 60_000;

function StatsTable({stats}: {stats: TSDBStats}): React.ReactElement {
  const intl = useIntl();
  // Zero means "no data" (upstream rendered it as 1 January 1970).
  const time = (ms: number): string => (ms > 0 ? formatDateTime(intl, ms) : intl.formatMessage(common.none));
  const rows: Array<[string, string, string]> = [
    ['samples', intl.formatMessage(m.samples), intl.formatNumber(stats.num_samples)],
    ['series', intl.formatMessage(m.series), intl.formatNumber(stats.num_series)],
    ['oldest', intl.formatMessage(m.oldest), time(stats.min_t)],
    ['newest', intl.formatMessage(m.newest), time(stats.max_t)],
  ];
  return (
    <>
      {stats.num_samples === 0 && (
        <p className='mmm-muted' data-testid='stats-empty'>
          {intl.formatMessage(m.empty)}
        </p>
      )}
      <table className='mmm-table'>
        <thead>
          <tr>
            <th scope='col'>{intl.formatMessage(m.colName)}</th>
            <th scope='col'>{intl.formatMessage(m.colValue)}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([key, name, value]) => (
            <tr key={key} data-testid={`stats-${key}`}>
              <td>{name}</td>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function StatsPanel(): React.ReactElement {
  const [stats, setStats] = useState<TSDBStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  usePolling(
    async (signal) => {
      try {
        const s = await api.tsdbStats(signal);
        if (signal.aborted) return;
        setStats(s);
        setError(null);
      } catch (err) {
        if (!signal.aborted) setError((err as Error).message);
      }
    },
    () => statsRefreshMs,
  );
  return (
    <div className='mmm mmm-box' data-testid='metrics-stats'>
      {error && <ErrorBanner message={error} />}
      {stats ? <StatsTable stats={stats} /> : !error && <Loading />}
    </div>
  );
}

export default function Stats(_props: CustomSettingProps): React.ReactElement {
  ensureStyles();
  return (
    <WithIntl>
      <StatsPanel />
    </WithIntl>
  );
}
