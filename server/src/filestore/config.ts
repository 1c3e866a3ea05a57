// Mattermost FileSettings (of the unsanitized config) → a FileBackend.
//
// Over the plugin RPC the config is gob-encoded and a *bool/*int/*string that points at its
// zero value is omitted, so an absent field means false / 0 / "" — never the server's
// default. In particular AmazonS3SSL=false arrives as an absent field and must mean http://
// (Mattermost always holds a value; its default, true, would have been sent).
// Numeric settings whose zero value Mattermost itself does not accept (request timeout,
// part size) fall back to Mattermost's defaults.

import path from 'node:path';

import type {MattermostConfig} from '../bridge/mattermost/index.ts';
import {type FileBackend, FileStoreError} from './backend.ts';
import type {FileStoreLogger} from './common.ts';
import {LocalBackend} from './local.ts';
import {S3Backend, type S3BackendOptions} from './s3.ts';

/** Mattermost's FileSettings, as decoded from the unsanitized config. */
export type FileSettingsInput = NonNullable<MattermostConfig['FileSettings']>;

/** Mattermost's FileSettings.Directory default (model.FileSettingsDefaultDirectory). */
export const DEFAULT_LOCAL_DIRECTORY = './data/';

export interface BackendFromConfigOptions {
  /**
   * Base for a relative FileSettings.Directory: the Mattermost server's working directory,
   * which is what the server itself resolves it against (the plugin process is started with
   * the server's working directory, so process.cwd() is the right value there).
   */
  cwd: string;
  logger?: FileStoreLogger;
  s3?: Omit<S3BackendOptions, 'logger'>;
}

export function backendFromConfig(fs: FileSettingsInput | undefined, opts: BackendFromConfigOptions): FileBackend {
  const settings = fs ?? {};
  const driver = (settings.DriverName ?? '').trim() || 'local';
  switch (driver) {
    case 'local': {
      if (!path.isAbsolute(opts.cwd)) throw new FileStoreError('config', opts.cwd, 'the base directory (cwd) must be absolute');
      const dir = (settings.Directory ?? '').trim() || DEFAULT_LOCAL_DIRECTORY;
      return new LocalBackend(path.resolve(opts.cwd, dir), {logger: opts.logger});
    }
    case 'amazons3': {
      if (settings.AmazonS3SignV2) {
        opts.logger?.warn('file store: AmazonS3SignV2 is set but signature V2 is not supported here; signing with V4');
      }
      return new S3Backend(
        {
          bucket: settings.AmazonS3Bucket ?? '',
          pathPrefix: settings.AmazonS3PathPrefix,
          region: settings.AmazonS3Region,
          endpoint: settings.AmazonS3Endpoint,
          ssl: settings.AmazonS3SSL === true, // absent = false over RPC
          sse: settings.AmazonS3SSE === true,
          accessKeyId: settings.AmazonS3AccessKeyId,
          secretAccessKey: settings.AmazonS3SecretAccessKey,
          requestTimeoutMs: settings.AmazonS3RequestTimeoutMilliseconds,
          uploadPartSizeBytes: settings.AmazonS3UploadPartSizeBytes,
        },
        {...opts.s3, logger: opts.logger},
      );
    }
    default:
      throw new FileStoreError('config', driver, 'unknown FileSettings.DriverName (expected "local" or "amazons3")');
  }
}
