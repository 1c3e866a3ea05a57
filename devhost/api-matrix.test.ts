// The route matrix (devhost/api-matrix.ts) through the dev host: the plugin from source,
// launched through the go-plugin handshake, users by X-Devhost-User.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import {encodeCall, routeMatrix} from './api-matrix.ts';
import {startDevHost} from './devhost.ts';

const pluginId = 'com.mattermost.mattermost-plugin-metrics';

routeMatrix({
  async start(seed) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-matrix-'));
    seed(path.join(dir, 'mattermost-plugin-metrics/data'));
    const host = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: () => {}});
    return {
      send: (c) => fetch(`${host.url}/plugins/${pluginId}${c.path}`, {method: c.method, ...encodeCall(c, {'X-Devhost-User': c.user})}),
      dumpsDir: path.join(dir, 'filestore', 'plugin-data/mattermost-plugin-metrics/dump'),
      stripsClientUserId: host.users.admin.id,
      async stop() {
        await host.stop();
        await fs.rm(dir, {recursive: true, force: true});
      },
    };
  },
});
