// The plugin: wires configuration, logging and the HTTP routes together. The
// only module that knows every part.

import {ConformanceRoutes, conformanceEnabled} from './conformance/routes.ts';
import {WorkerPool} from './worker/mod.ts';
import type {
  MattermostConfig,
  MattermostPlugin,
  PluginAPI,
  PluginContext,
  PluginLogger,
  SupportFile,
} from './bridge/mattermost/index.ts';

export const pluginId = 'com.mattermost.mattermost-plugin-metrics';

export class MetricsPlugin implements MattermostPlugin {
  private api: PluginAPI | undefined;
  private settings: Record<string, unknown> = {};
  private readonly conformance: ConformanceRoutes | undefined;
  /** Heavy work (block writes, compaction, dumps) runs here, off the event loop. */
  readonly workers = new WorkerPool(1);

  constructor(private readonly log: PluginLogger) {
    this.conformance = conformanceEnabled() ? new ConformanceRoutes(() => this.api, this.workers) : undefined;
  }

  setAPI(api: PluginAPI): void {
    this.api = api;
  }

  async onConfigurationChange(): Promise<void> {
    if (!this.api) return;
    this.settings = await this.api.loadPluginConfiguration();
  }

  async onActivate(): Promise<void> {
    this.log.info('metrics plugin activated', {settings: Object.keys(this.settings).length});
  }

  async onDeactivate(): Promise<void> {
    this.log.info('metrics plugin deactivating');
  }

  async configurationWillBeSaved(_config: MattermostConfig): Promise<void> {
    // Validation of this plugin's settings arrives with the configuration work (issue 4).
  }

  async serveHTTP(request: Request, _context: PluginContext): Promise<Response> {
    const handled = await this.conformance?.handle(request);
    if (handled) return handled;
    return Response.json({error: `not found: ${new URL(request.url).pathname}`}, {status: 404});
  }

  async serveMetrics(request: Request, context: PluginContext): Promise<Response> {
    return this.serveHTTP(request, context);
  }

  async onPluginClusterEvent(_context: PluginContext, event: {id: string; data: Buffer}): Promise<void> {
    this.conformance?.clusterEvents.push({id: event.id, data: event.data.toString('utf8')});
  }

  async generateSupportData(_context: PluginContext): Promise<SupportFile[]> {
    const status = {plugin: pluginId, generatedAt: new Date().toISOString(), note: 'metrics dump not implemented yet'};
    return [{filename: 'mattermost-plugin-metrics/status.json', body: Buffer.from(JSON.stringify(status, null, 2))}];
  }
}
