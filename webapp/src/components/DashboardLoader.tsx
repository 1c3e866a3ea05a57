// The "Dashboard" custom setting as main.js registers it: a small stand-in that loads the
// real dashboard (dashboard.js: uPlot, prometheus-query, 26 panels, ~130 KB) only when the
// plugin's settings page is opened. Mattermost loads every plugin's main.js for every user on
// every page; the dashboard is for admins on one page. dashboard.js is served from the
// plugin's public/ directory (/plugins/<id>/public/dashboard.js), which Mattermost serves
// without calling the plugin.
import React, {useEffect, useState} from 'react';
import {FormattedMessage} from 'react-intl';

import manifest from '../../../plugin.json';
import {DASHBOARD_CHUNK_GLOBAL, type DashboardChunk} from '../dashboard/chunk_global.ts';
import type {DashboardProps} from '../dashboard/dashboard.tsx';
import {WithIntl} from '../intl.tsx';
import {dashboardLoader as m} from '../messages.ts';
import {ensureStyles} from '../styles.ts';

/** Set by webapp/build.mjs to the content hash of the dashboard.js built with this main.js. */
declare const DASHBOARD_CHUNK_HASH: string;

/** Under tests (no build) there is no hash; the URL then carries "dev". */
export const dashboardChunkVersion: string = typeof DASHBOARD_CHUNK_HASH === 'string' ? DASHBOARD_CHUNK_HASH : 'dev';

export function dashboardChunkUrl(): string {
  return `${window.basename || ''}/plugins/${manifest.id}/public/dashboard.js?v=${dashboardChunkVersion}`;
}

type DashboardComponent = DashboardChunk['Dashboard'];

// One load per page, whichever and however many loaders ask; a failed load is forgotten so
// that a retry injects a fresh script.
let chunkLoad: Promise<DashboardComponent> | undefined;

export function loadDashboardChunk(): Promise<DashboardComponent> {
  if (chunkLoad) return chunkLoad;
  const load = new Promise<DashboardComponent>((resolve, reject) => {
    const present = window[DASHBOARD_CHUNK_GLOBAL]?.Dashboard;
    if (present) {
      resolve(present);
      return;
    }
    const src = dashboardChunkUrl();
    const script = document.createElement('script');
    script.src = src;
    script.async = true;
    script.dataset.metricsDashboardChunk = dashboardChunkVersion;
    script.onload = () => {
      const Dashboard = window[DASHBOARD_CHUNK_GLOBAL]?.Dashboard;
      if (Dashboard) {
        resolve(Dashboard);
      } else {
        script.remove();
        reject(new Error(`${src} loaded but did not provide the dashboard (a stale or foreign file?)`));
      }
    };
    script.onerror = () => {
      script.remove();
      reject(new Error(`${src} did not load (network error, or the file is missing from the plugin's public/ directory)`));
    };
    document.head.appendChild(script);
  });
  chunkLoad = load;
  load.catch(() => {
    if (chunkLoad === load) chunkLoad = undefined;
  });
  return load;
}

/** Forgets the page's load (tests). */
export function resetDashboardChunkForTests(): void {
  chunkLoad = undefined;
}

type LoadState = {kind: 'loading'} | {kind: 'ready'; Dashboard: DashboardComponent} | {kind: 'failed'; reason: string};

function initialState(): LoadState {
  const Dashboard = window[DASHBOARD_CHUNK_GLOBAL]?.Dashboard;
  return Dashboard ? {kind: 'ready', Dashboard} : {kind: 'loading'};
}

export default function DashboardLoader(props: DashboardProps): React.ReactElement {
  ensureStyles();
  const [state, setState] = useState<LoadState>(initialState);
  const [attempt, setAttempt] = useState(0);

  const ready = state.kind === 'ready';
  useEffect(() => {
    if (ready) return undefined;
    let mounted = true;
    loadDashboardChunk().then(
      (Dashboard) => {
        if (mounted) setState({kind: 'ready', Dashboard});
      },
      (err: Error) => {
        if (mounted) setState({kind: 'failed', reason: err.message});
      },
    );
    return () => {
      mounted = false;
    };
  }, [attempt, ready]);

  if (state.kind === 'ready') return <state.Dashboard {...props} />;
  return (
    <WithIntl>
      <div className='mmm' data-testid='metrics-dashboard-loader'>
        {state.kind === 'loading' ? (
          <p className='mmm-muted' role='status' data-testid='metrics-loading'>
            <FormattedMessage {...m.loading} />
          </p>
        ) : (
          <div className='mmm-banner' role='alert' data-testid='metrics-error'>
            <span>
              <FormattedMessage {...m.failed} values={{reason: state.reason}} />
            </span>
            <button
              type='button'
              className='mmm-btn mmm-btn-small'
              data-testid='dashboard-retry'
              onClick={() => {
                setState({kind: 'loading'});
                setAttempt((n) => n + 1);
              }}
            >
              <FormattedMessage {...m.retry} />
            </button>
          </div>
        )}
      </div>
    </WithIntl>
  );
}
