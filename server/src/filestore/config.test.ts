// backendFromConfig: Mattermost FileSettings (as decoded from RPC: zero values absent) → backend.
// Run: node --import tsx --test server/src/filestore/config.test.ts

import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {FileStoreError} from './backend.ts';
import {backendFromConfig} from './config.ts';
import {LocalBackend} from './local.ts';
import {resolveEndpoint, S3Backend} from './s3.ts';

const cwd = '/opt/mattermost';
const s3 = (fs: Record<string, unknown>) => {
  const b = backendFromConfig({DriverName: 'amazons3', AmazonS3Bucket: 'bkt', ...fs}, {cwd});
  assert.ok(b instanceof S3Backend);
  return b;
};

describe('backendFromConfig', () => {
  it('local: relative Directory resolved against the server working directory; default ./data/', () => {
    const b = backendFromConfig({DriverName: 'local', Directory: './data/'}, {cwd});
    assert.ok(b instanceof LocalBackend);
    assert.equal(b.root, '/opt/mattermost/data');
    assert.equal(b.describe(), 'local directory=/opt/mattermost/data');
    assert.equal((backendFromConfig({}, {cwd}) as LocalBackend).root, '/opt/mattermost/data');
    assert.equal((backendFromConfig({DriverName: 'local', Directory: '/srv/mm/files'}, {cwd}) as LocalBackend).root, '/srv/mm/files');
    assert.equal((backendFromConfig(undefined, {cwd}) as LocalBackend).root, '/opt/mattermost/data');
    assert.throws(() => backendFromConfig({}, {cwd: 'relative'}), FileStoreError);
  });

  it('unknown driver → clear error', () => {
    assert.throws(() => backendFromConfig({DriverName: 'azure'}, {cwd}), /unknown FileSettings.DriverName/);
  });

  it('AmazonS3SSL absent (false omitted over RPC) ⇒ http://, true ⇒ https://', () => {
    assert.equal(s3({AmazonS3Endpoint: 'minio:9000'}).endpoint.url, 'http://minio:9000');
    assert.equal(s3({AmazonS3Endpoint: 'minio:9000', AmazonS3SSL: false}).endpoint.url, 'http://minio:9000');
    assert.equal(s3({AmazonS3Endpoint: 'minio:9000', AmazonS3SSL: true}).endpoint.url, 'https://minio:9000');
    const m = s3({AmazonS3Endpoint: 'minio:9000'});
    assert.equal(m.endpoint.forcePathStyle, true);
  });

  it('AWS endpoint ⇒ the SDK regional endpoint, virtual-hosted style; region default us-east-1', () => {
    const b = s3({AmazonS3Endpoint: 's3.amazonaws.com', AmazonS3SSL: true});
    assert.equal(b.endpoint.url, undefined);
    assert.equal(b.endpoint.forcePathStyle, false);
    assert.equal(b.region, 'us-east-1');
    assert.equal(s3({AmazonS3Region: 'eu-west-1'}).region, 'eu-west-1');
    const regional = s3({AmazonS3Endpoint: 's3.eu-west-1.amazonaws.com', AmazonS3SSL: true});
    assert.equal(regional.endpoint.url, 'https://s3.eu-west-1.amazonaws.com');
    assert.equal(regional.endpoint.forcePathStyle, false);
  });

  it('bad endpoints and a missing bucket are rejected clearly', () => {
    assert.throws(() => s3({AmazonS3Endpoint: 'https://minio:9000'}), /without a scheme/);
    assert.throws(() => s3({AmazonS3Endpoint: 'minio:9000/path'}), /without a path/);
    assert.throws(() => s3({AmazonS3Endpoint: 'bad host:x'}), /not a valid host/);
    assert.throws(() => backendFromConfig({DriverName: 'amazons3'}, {cwd}), /AmazonS3Bucket is empty/);
    assert.throws(() => s3({AmazonS3AccessKeyId: 'AKIA'}), /both .* or neither/);
    assert.doesNotThrow(() => resolveEndpoint('[::1]:9000', false));
  });

  it('SSE, prefix joining, timeout and part-size defaults', async () => {
    const b = s3({AmazonS3SSE: true, AmazonS3PathPrefix: '/mm//files/', AmazonS3Endpoint: 'minio:9000'});
    assert.equal(b.key('plugin-data/x'), 'mm/files/plugin-data/x');
    assert.equal(s3({}).key('plugin-data/x'), 'plugin-data/x');
    assert.throws(() => s3({AmazonS3PathPrefix: 'a/../b'}), /AmazonS3PathPrefix/);
    assert.match(b.describe(), /sse=AES256/);
    assert.equal(b.timeoutMs, 30_000);
    assert.equal(s3({AmazonS3RequestTimeoutMilliseconds: 5000}).timeoutMs, 5000);
    assert.equal(b.partSize, 5 * 1024 * 1024);
    assert.equal(s3({AmazonS3UploadPartSizeBytes: 16 * 1024 * 1024}).partSize, 16 * 1024 * 1024);
    assert.equal(s3({AmazonS3UploadPartSizeBytes: 1024}).partSize, 5 * 1024 * 1024);
    // SSE reaches the request: capture PutObject's input through a middleware.
    const inputs: Record<string, unknown>[] = [];
    b.client.middlewareStack.add(
      () => async (args: {input: unknown}) => {
        inputs.push(args.input as Record<string, unknown>);
        return {output: {$metadata: {}}, response: {}} as never;
      },
      {step: 'initialize', priority: 'high', name: 'capture'},
    );
    await b.write('x', Buffer.from('1'));
    assert.equal(inputs[0].ServerSideEncryption, 'AES256');
    assert.equal(inputs[0].Key, 'mm/files/x');
    b.destroy();
  });

  it('describe() never contains the secret (nor the access key)', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const b = s3({AmazonS3AccessKeyId: 'AKIAIOSFODNN7EXAMPLE', AmazonS3SecretAccessKey: secret, AmazonS3Endpoint: 'minio:9000', AmazonS3PathPrefix: 'mm'});
    const d = b.describe();
    assert.ok(!d.includes(secret) && !d.includes('AKIAIOSFODNN7EXAMPLE'), d);
    assert.match(d, /^amazons3 bucket=bkt prefix=mm endpoint=http:\/\/minio:9000 region=us-east-1 sse=off credentials=access key$/);
    assert.match(s3({}).describe(), /credentials=default chain \(IAM role\)/);
  });

  it('an error that echoes the secret is redacted', async () => {
    const secret = 'super-secret-key-value';
    const b = s3({AmazonS3AccessKeyId: 'AK', AmazonS3SecretAccessKey: secret, AmazonS3Endpoint: 'minio:9000'});
    b.client.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error(`signature mismatch for ${secret}`), {name: 'SignatureDoesNotMatch', $metadata: {httpStatusCode: 403}});
      },
      {step: 'initialize', priority: 'high', name: 'fail'},
    );
    const err = await b.stat('x').catch((e: unknown) => e);
    assert.ok(err instanceof FileStoreError);
    assert.ok(!err.message.includes(secret), err.message);
    assert.match(err.message, /SignatureDoesNotMatch: signature mismatch for \[redacted\] \[HTTP 403\]/);
    b.destroy();
  });
});
