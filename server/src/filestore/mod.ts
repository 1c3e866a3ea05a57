// The file store: Mattermost's FileSettings backend (local directory or S3 bucket).

export {
  type FileBackend,
  type FileInfo,
  FileNotFoundError,
  FileStoreError,
  remoteDataDir,
  remoteDumpDir,
  remoteRoot,
} from './backend.ts';
export {type FileStoreLogger} from './common.ts';
export {type BackendFromConfigOptions, backendFromConfig, DEFAULT_LOCAL_DIRECTORY, type FileSettingsInput} from './config.ts';
export {LocalBackend, type LocalBackendOptions} from './local.ts';
export {cleanPath, joinPath} from './paths.ts';
export {resolveEndpoint, S3Backend, type S3BackendOptions, type S3Settings} from './s3.ts';
