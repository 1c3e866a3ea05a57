// The plugin: wires configuration, logging and the HTTP routes together. The
// only module that knows every part.

import type {
  MattermostConfig,
  MattermostPlugin,
  PluginAPI,
  PluginContext,
  PluginLogger,
  SupportFile,
} from './bridge/mattermost/index.ts';
import {changedSettings, defaultSettings, parseSettings, requireValidSettings, SettingsError, type Settings} from './config/mod.ts';
import {ConformanceRoutes, conformanceEnabled} from './conformance/routes.ts';
import {WorkerPool} from './worker/mod.ts';

export const pluginId = 'com.mattermost.mattermost-plugin-metrics';

/** What an admin needs to know that is not an error of a single request. */
export interface PluginWarnings {
  /** Settings that were rejected (the previous valid settings stay in force). */
  settings: string[];
  /** The server's own metrics are off and could not be turned on (licence). */
  metrics: string | null;
}

export class MetricsPlugin implements MattermostPlugin {
  private api: PluginAPI | undefined;
  private settings: Settings = {...defaultSettings};
  private readonly conformance: ConformanceRoutes | undefined;
  readonly warnings: PluginWarnings = {settings: [], metrics: null};
  /** Heavy work (block writes, compaction, dumps) runs here, off the event loop. */
  readonly workers = new WorkerPool(1);

  constructor(private readonly log: PluginLogger) {
    this.conformance = conformanceEnabled() ? new ConformanceRoutes(() => this.api, this.workers) : undefined;
  }

  setAPI(api: PluginAPI): void {
    this.api = api;
  }

  get currentSettings(): Readonly<Settings> {
    return this.settings;
  }

  /** Invalid settings are reported and the previous valid ones stay in force. */
  async onConfigurationChange(): Promise<void> {
    if (!this.api) return;
    const {settings, problems} = parseSettings(await this.api.loadPluginConfiguration());
    this.warnings.settings = problems;
    if (problems.length > 0) {
      this.log.warn('plugin settings rejected; keeping the previous ones', {problems: problems.join('; ')});
      throw new SettingsError(problems);
    }
    const changed = changedSettings(this.settings, settings);
    this.settings = settings;
    if (changed.length > 0) this.log.info('plugin settings applied', {changed: changed.join(',')});
  }

  async onActivate(): Promise<void> {
    await this.ensureServerMetricsEnabled();
    this.log.info('metrics plugin activated');
  }

  async onDeactivate(): Promise<void> {
    this.log.info('metrics plugin deactivating');
    await this.workers.close();
  }

  /** Rejects a System Console save with the reasons shown to the admin. */
  async configurationWillBeSaved(config: MattermostConfig): Promise<void> {
    const plugins = config.PluginSettings?.Plugins ?? {};
    const mine = plugins[pluginId] ?? Object.entries(plugins).find(([id]) => id.toLowerCase() === pluginId)?.[1];
    requireValidSettings(mine);
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
    const status = {plugin: pluginId, generatedAt: new Date().toISOString(), warnings: this.warnings, note: 'metrics dump not implemented yet'};
    return [{filename: 'mattermost-plugin-metrics/status.json', body: Buffer.from(JSON.stringify(status, null, 2))}];
  }

  /**
   * The plugin scrapes the server's metrics listener, which only runs with
   * MetricsSettings.Enable. Turn it on when the licence includes metrics (as the Go
   * plugin does); otherwise say so instead of collecting nothing silently.
   */
  private async ensureServerMetricsEnabled(): Promise<void> {
    const api = this.api;
    if (!api) return;
    const config = await api.getConfig();
    if (config.MetricsSettings?.Enable) {
      this.warnings.metrics = null;
      return;
    }
    const license = await api.getLicense();
    if (license?.Features?.Metrics) {
      await api.updateConfig((raw) => {
        (raw.MetricsSettings as Record<string, unknown>).Enable = true;
      });
      this.warnings.metrics = null;
      this.log.info("enabled the server's performance metrics (MetricsSettings.Enable) so this plugin can collect them");
      return;
    }
    this.warnings.metrics =
      "The server's performance metrics are off and this Mattermost licence does not include them, so there is nothing to collect. " +
      'Metrics need an Enterprise licence.';
    this.log.warn(this.warnings.metrics);
  }
}
