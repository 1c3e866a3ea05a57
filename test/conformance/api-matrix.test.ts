// The route matrix (devhost/api-matrix.ts) through the Go go-plugin host (`harness serve`):
// our bundle's executable under hashicorp/go-plugin, each request one ServeHTTP call, the
// user as Mattermost sets it (Mattermost-User-Id; HasPermissionTo answers manage_system for
// the harness's admin only). Skipped without a built executable (make dist or $PLUGIN_EXE).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import {encodeCall, routeMatrix} from '../../devhost/api-matrix.ts';
import {buildHarness, ownPluginSkip, resolvePluginExe} from './goharness.ts';
import {ADMIN, Serve, pluginId} from './serve.ts';

const target = resolvePluginExe();
const member = 'harnessmemberuser000000000';

routeMatrix({
  skip: ownPluginSkip(target),
  async start(seed) {
    const built = buildHarness();
    if (!built.ok) throw new Error(built.output);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-matrix-'));
    const cwd = path.join(root, 'node');
    seed(path.join(cwd, 'mattermost-plugin-metrics/data'));
    // The plugin scrapes this; nothing in it matters here.
    const metrics = http.createServer((_req, res) => res.writeHead(200, {'Content-Type': 'text/plain'}).end('x 1\n'));
    const port = await new Promise<number>((resolve) => metrics.listen(0, '127.0.0.1', () => resolve((metrics.address() as {port: number}).port)));
    const serve = await Serve.start({target, cwd, fileStore: path.join(root, 'filestore'), metricsPort: port});
    const user = {admin: {'Mattermost-User-Id': ADMIN}, member: {'Mattermost-User-Id': member}, anonymous: {}};
    return {
      send: (c) => fetch(`${serve.url}/plugins/${pluginId}${c.path}`, {method: c.method, ...encodeCall(c, user[c.user])}),
      dumpsDir: path.join(root, 'filestore', 'plugin-data/mattermost-plugin-metrics/dump'),
      async stop() {
        await serve.stop();
        await new Promise((r) => metrics.close(r));
        fs.rmSync(root, {recursive: true, force: true});
      },
    };
  },
});
