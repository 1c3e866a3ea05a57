// Routes the Go conformance harness drives (test/goharness). Only mounted when
// the process runs with MM_METRICS_CONFORMANCE=1; they exercise the bridge, not
// the product.

import {createHash} from 'node:crypto';

import {RpcServerError, type PluginAPI} from '../bridge/mattermost/index.ts';
import type {WorkerPool} from '../worker/mod.ts';

export const conformanceEnabled = (): boolean => process.env.MM_METRICS_CONFORMANCE === '1';

interface ClusterEventRecord {
  id: string;
  data: string;
}

export class ConformanceRoutes {
  readonly clusterEvents: ClusterEventRecord[] = [];

  constructor(
    private readonly api: () => PluginAPI | undefined,
    private readonly workers: WorkerPool,
  ) {}

  /** Returns a response for /conformance/* paths, undefined otherwise. */
  async handle(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/conformance/hello':
        return new Response(`hello ${request.headers.get('Mattermost-User-Id') ?? ''}`, {
          headers: {'Content-Type': 'text/plain; charset=utf-8'},
        });
      case '/conformance/echo': {
        const hash = createHash('sha256');
        let bytes = 0;
        if (request.body) {
          for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
            hash.update(chunk);
            bytes += chunk.length;
          }
        }
        return Response.json({bytes, sha256: hash.digest('hex')});
      }
      case '/conformance/download':
        return download(Number(url.searchParams.get('bytes') ?? 0));
      case '/conformance/busy':
        // CPU-bound work belongs off the event loop.
        await this.workers.run('spin', Math.min(Math.max(Number(url.searchParams.get('seconds') ?? 1), 0), 120) * 1000);
        return Response.json({done: true});
      case '/conformance/events':
        return Response.json(this.clusterEvents);
      case '/conformance/api':
        return Response.json(await this.apiScript());
      default:
        return undefined;
    }
  }

  /** The fixed API script whose results the harness knows in advance. */
  private async apiScript(): Promise<Record<string, unknown>> {
    const api = this.api();
    if (!api) throw new Error('plugin API not available');
    const cfg = await api.getConfig();
    const ucfg = await api.getUnsanitizedConfig();
    const license = await api.getLicense();
    const plugins = ucfg.PluginSettings?.Plugins ?? {};
    const out: Record<string, unknown> = {
      serverVersion: await api.getServerVersion(),
      configDataSource: cfg.SqlSettings?.DataSource ?? '',
      unsanitizedDataSource: ucfg.SqlSettings?.DataSource ?? '',
      siteURL: ucfg.ServiceSettings?.SiteURL ?? '',
      metricsListen: ucfg.MetricsSettings?.ListenAddress ?? '',
      metricsEnable: ucfg.MetricsSettings?.Enable ?? false,
      s3ssl: ucfg.FileSettings?.AmazonS3SSL ?? false,
      pluginSetting: plugins['com.mattermost.mattermost-plugin-metrics']?.scrapeintervalseconds ?? null,
      licenseId: license?.Id ?? '',
      licenseMetrics: license?.Features?.Metrics ?? false,
      enterpriseReady: await api.isEnterpriseReady(),
      diagnosticId: await api.getDiagnosticId(),
      telemetryId: await api.getTelemetryId(),
      installDate: await api.getSystemInstallDate(),
      bundlePathSet: (await api.getBundlePath()) !== '',
      loadedConfig: await api.loadPluginConfiguration(),
    };
    await api.savePluginConfig({conformance: 'saved', n: 3.5, b: true});
    const saved = await api.updateConfig((config) => {
      (config.ClusterSettings as Record<string, unknown>).ClusterName = 'conformance-saved';
    });
    out.configSaved = saved.ClusterSettings?.ClusterName === 'conformance-saved';
    await api.logDebug('conformance debug', {k: 'v'});
    await api.logInfo('conformance info', {k: 'v'});
    await api.logWarn('conformance warn', {k: 'v'});
    await api.logError('conformance error', {k: 'v'});
    await api.kvDeleteAll();
    await api.kvSet('k1', Buffer.from('v1'));
    out.kvGet = (await api.kvGet('k1'))?.toString() ?? null;
    await api.kvSetWithExpiry('k2', Buffer.from('v2'), 60);
    out.casOk = await api.kvCompareAndSet('k1', Buffer.from('v1'), Buffer.from('v1b'));
    out.casWrong = await api.kvCompareAndSet('k1', Buffer.from('wrong'), Buffer.from('x'));
    const lock = {atomic: true, oldValue: null, expireInSeconds: 15};
    out.mutexFirst = await api.kvSetWithOptions('mutex_x', Buffer.from([1]), lock);
    out.mutexSecond = await api.kvSetWithOptions('mutex_x', Buffer.from([1]), lock);
    out.cadOk = await api.kvCompareAndDelete('k1', Buffer.from('v1b'));
    out.kvGetAfterDelete = (await api.kvGet('k1'))?.toString() ?? null;
    out.kvList = await api.kvList(0, 100);
    await api.publishPluginClusterEvent({id: 'conformance', data: Buffer.from('x')}, {sendType: 'reliable'});
    await api.publishWebSocketEvent('conformance', {a: 'b'}, {userId: 'user1'});
    try {
      await api.call('NoSuchMethod', 'string', '');
      out.missingMethodError = false;
    } catch (err) {
      out.missingMethodError = err instanceof RpcServerError && err.isMissingMethod;
    }
    return out;
  }
}

/** N bytes where byte i is i % 251, streamed in 1 MiB pieces. */
function download(total: number): Response {
  const piece = Buffer.alloc(251 * 4177); // ~1 MiB, a whole number of 251-byte periods
  for (let i = 0; i < piece.length; i++) piece[i] = i % 251;
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      const n = Math.min(piece.length, total - sent);
      controller.enqueue(piece.subarray(0, n));
      sent += n;
    },
  });
  return new Response(body, {headers: {'Content-Type': 'application/octet-stream', 'Content-Length': String(total)}});
}
