// The parts of model.Config the plugin reads. Decoded from gob, pointer fields
// that were nil, false, 0 or "" are absent (spec §3.2.4, §6): read with defaults.

export interface MattermostConfig {
  ServiceSettings?: {SiteURL?: string; ListenAddress?: string};
  SqlSettings?: {DriverName?: string; DataSource?: string; DataSourceReplicas?: string[]; QueryTimeout?: number};
  FileSettings?: {
    DriverName?: string;
    Directory?: string;
    AmazonS3AccessKeyId?: string;
    AmazonS3SecretAccessKey?: string;
    AmazonS3Bucket?: string;
    AmazonS3PathPrefix?: string;
    AmazonS3Region?: string;
    AmazonS3Endpoint?: string;
    AmazonS3SSL?: boolean;
    AmazonS3SignV2?: boolean;
    AmazonS3SSE?: boolean;
    AmazonS3Trace?: boolean;
    AmazonS3RequestTimeoutMilliseconds?: number;
    AmazonS3UploadPartSizeBytes?: number;
  };
  MetricsSettings?: {Enable?: boolean; ListenAddress?: string; BlockProfileRate?: number};
  ClusterSettings?: {Enable?: boolean; ClusterName?: string; OverrideHostname?: string; GossipPort?: number};
  PluginSettings?: {Directory?: string; Plugins?: Record<string, Record<string, unknown>>};
  [section: string]: unknown;
}
