// What an admin needs to see that collection works: targets, the leader, the last scrape,
// sync and block cut, disk use here and in the file store, and anything that stops it.
import React, {useState} from 'react';
import {useIntl} from 'react-intl';

import {api} from '../client.ts';
import {formatBytes, formatDateTime, formatDuration} from '../format.ts';
import {WithIntl} from '../intl.tsx';
import {common, status as m} from '../messages.ts';
import {usePolling} from '../polling.ts';
import {ensureStyles} from '../styles.ts';
import type {CustomSettingProps, PluginStatus, TargetHealth} from '../types.ts';
import {ErrorBanner, Loading} from './ErrorBanner.tsx';

export const statusRefreshMs = 15_000;

function When({at, now}: {at: number | null | undefined; now: number}): React.ReactElement {
  const intl = useIntl();
  if (at === null || at === undefined || at <= 0) return <span className='mmm-muted'>{intl.formatMessage(common.never)}</span>;
  return <span title={formatDateTime(intl, at)}>{intl.formatMessage(common.ago, {age: formatDuration(intl, now - at)})}</span>;
}

function Health({health}: {health: TargetHealth['health']}): React.ReactElement {
  const intl = useIntl();
  const cls = health === 'up' ? 'mmm-ok' : health === 'down' ? 'mmm-bad' : 'mmm-neutral';
  const label = health === 'up' ? m.up : health === 'down' ? m.down : m.unknown;
  return <span className={`mmm-badge ${cls}`}>{intl.formatMessage(label)}</span>;
}

function Warnings({s}: {s: PluginStatus}): React.ReactElement | null {
  const intl = useIntl();
  const items: string[] = [];
  if (s.warnings.metrics) items.push(s.warnings.metrics);
  if (s.warnings.fileStore) items.push(s.warnings.fileStore);
  for (const p of s.warnings.settings ?? []) items.push(intl.formatMessage(m.settingsWarning, {problem: p}));
  for (const b of s.store?.unreadableBlocks ?? []) items.push(intl.formatMessage(m.unreadableBlock, {dir: b.dir, error: b.error}));
  if (items.length === 0) return null;
  return (
    <div data-testid='status-warnings'>
      {items.map((text, i) => (
        <div key={i} className='mmm-warning' role='note'>
          {text}
        </div>
      ))}
    </div>
  );
}

function Remote({s}: {s: PluginStatus}): React.ReactElement {
  const intl = useIntl();
  const r = s.remote;
  if (!r) return <span className='mmm-muted'>{intl.formatMessage(m.remoteUnavailable)}</span>;
  const u = r.usage;
  return (
    <>
      {'error' in u ? (
        <span className='mmm-error-text'>{intl.formatMessage(m.remoteUsageError, {error: u.error})}</span>
      ) : (
        <span>
          {intl.formatMessage(m.remoteDiskValue, {
            bytes: formatBytes(intl, u.bytes),
            blocks: u.blocks,
            dumps: u.dumps,
            dumpBytes: formatBytes(intl, u.dumpBytes),
            store: r.fileStore,
          })}
        </span>
      )}
      {r.sync.lastError && <div className='mmm-error-text'>{intl.formatMessage(m.syncError, {error: r.sync.lastError})}</div>}
      {r.sync.failingBlocks.length > 0 && <div className='mmm-error-text'>{intl.formatMessage(m.failingBlocks, {count: r.sync.failingBlocks.length})}</div>}
    </>
  );
}

export function StatusView({s, now}: {s: PluginStatus; now: number}): React.ReactElement {
  const intl = useIntl();
  const store = s.store;
  return (
    <>
      <Warnings s={s} />
      <dl className='mmm-grid'>
        <dt>{intl.formatMessage(m.node)}</dt>
        <dd className='mmm-mono' data-testid='status-node'>
          {s.node}
        </dd>
        <dt>{intl.formatMessage(m.leader)}</dt>
        <dd data-testid='status-leader'>
          {s.leader
            ? intl.formatMessage(m.leaderValue, {
                node: s.leader.node === s.node ? `${s.leader.node} (${intl.formatMessage(m.leaderThis)})` : s.leader.node,
                age: formatDuration(intl, s.leader.ageMs ?? Math.max(0, now - s.leader.since)),
              })
            : <span className='mmm-error-text'>{intl.formatMessage(m.noLeader)}</span>}
        </dd>
        <dt>{intl.formatMessage(m.lastScrape)}</dt>
        <dd data-testid='status-last-scrape'>
          <When at={s.lastScrape} now={now} />
        </dd>
        <dt>{intl.formatMessage(m.lastSync)}</dt>
        <dd data-testid='status-last-sync'>{s.remote ? <When at={s.remote.lastSync} now={now} /> : intl.formatMessage(common.none)}</dd>
        <dt>{intl.formatMessage(m.lastCut)}</dt>
        <dd data-testid='status-last-cut'>
          <When at={store?.lastCut} now={now} />
        </dd>
        <dt>{intl.formatMessage(m.localDisk)}</dt>
        <dd data-testid='status-local-disk'>
          {store ? (
            intl.formatMessage(m.localDiskValue, {
              total: formatBytes(intl, store.blockBytes + store.walBytes),
              blocks: store.blocks,
              blockBytes: formatBytes(intl, store.blockBytes),
              walBytes: formatBytes(intl, store.walBytes),
              dir: store.dataDir,
            })
          ) : (
            <span className='mmm-muted'>{intl.formatMessage(m.notCollecting)}</span>
          )}
        </dd>
        {store && (
          <>
            <dt>{intl.formatMessage(m.head)}</dt>
            <dd>{intl.formatMessage(m.headValue, {series: store.headSeries, samples: store.headSamples})}</dd>
          </>
        )}
        <dt>{intl.formatMessage(m.remoteDisk)}</dt>
        <dd data-testid='status-remote-disk'>
          <Remote s={s} />
        </dd>
      </dl>
      <h4>{intl.formatMessage(m.targets)}</h4>
      {s.targets.length === 0 ? (
        <p className='mmm-muted' data-testid='status-no-targets'>
          {intl.formatMessage(m.noTargets)}
        </p>
      ) : (
        <div className='mmm-table-wrap'>
          <table className='mmm-table'>
            <thead>
              <tr>
                <th scope='col'>{intl.formatMessage(m.colTarget)}</th>
                <th scope='col'>{intl.formatMessage(m.colHealth)}</th>
                <th scope='col'>{intl.formatMessage(m.colLastScrape)}</th>
                <th scope='col'>{intl.formatMessage(m.colSamples)}</th>
                <th scope='col'>{intl.formatMessage(m.colError)}</th>
              </tr>
            </thead>
            <tbody>
              {s.targets.map((t) => (
                <tr key={`${t.job}\0${t.instance}\0${t.url}`} data-testid='status-target' data-health={t.health === 'up' || t.health === 'down' ? t.health : 'unknown'}>
                  <td>
                    <div>
                      <strong>{t.job}</strong> <span className='mmm-mono'>{t.instance}</span>
                    </div>
                    <div className='mmm-muted mmm-mono'>{t.url}</div>
                  </td>
                  <td>
                    <Health health={t.health} />
                  </td>
                  <td className='mmm-nowrap'>
                    {t.lastScrape ? (
                      <span title={formatDateTime(intl, t.lastScrape)}>
                        {t.lastDurationMs !== null
                          ? intl.formatMessage(m.scrapeTook, {age: formatDuration(intl, now - t.lastScrape), duration: Math.round(t.lastDurationMs)})
                          : intl.formatMessage(common.ago, {age: formatDuration(intl, now - t.lastScrape)})}
                      </span>
                    ) : (
                      <span className='mmm-muted'>{intl.formatMessage(common.never)}</span>
                    )}
                  </td>
                  <td className='mmm-nowrap'>
                    {intl.formatNumber(t.samples)}
                    {t.rejected > 0 && <div className='mmm-error-text'>{intl.formatMessage(m.rejected, {count: t.rejected})}</div>}
                  </td>
                  <td className='mmm-error-text' data-testid='status-target-error'>
                    {t.lastError ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function StatusPanel(): React.ReactElement {
  const [data, setData] = useState<{status: PluginStatus; at: number} | null>(null);
  const [error, setError] = useState<string | null>(null);
  usePolling(
    async (signal) => {
      try {
        const status = await api.status(signal);
        if (signal.aborted) return;
        setData({status, at: Date.now()});
        setError(null);
      } catch (err) {
        if (!signal.aborted) setError((err as Error).message);
      }
    },
    () => statusRefreshMs,
  );
  return (
    <div className='mmm mmm-box' data-testid='metrics-status'>
      {error && <ErrorBanner message={error} />}
      {data ? <StatusView s={data.status} now={data.at} /> : !error && <Loading />}
    </div>
  );
}

export default function Status(_props: CustomSettingProps): React.ReactElement {
  ensureStyles();
  return (
    <WithIntl>
      <StatusPanel />
    </WithIntl>
  );
}
