// The Support Packet as the dev host offers it: Plugin.GenerateSupportData called the way
// Mattermost's support-packet code calls it (an empty Context, the files returned as
// FileData), and the result as a tar for GET /api/v4/system/support_packet. Mattermost
// zips the packet; a tar carries the same files and needs no extra code to read.

import {Header} from 'tar';

import {struct} from '../server/src/bridge/gob/index.ts';
import {interfaceErrorFrom} from '../server/src/bridge/mattermost/errors.ts';
import {zArgs} from '../server/src/bridge/mattermost/wiretypes.ts';
import type {ActivePlugin} from './plugin.ts';

const ContextType = struct('Context', [
  ['SessionId', 'string'],
  ['RequestId', 'string'],
  ['IPAddress', 'string'],
  ['AcceptLanguage', 'string'],
  ['UserAgent', 'string'],
]);
const GenerateSupportDataArgs = zArgs('Z_GenerateSupportDataArgs', ContextType);

export interface SupportData {
  files: Array<{filename: string; body: Buffer}>;
  /** The hook's error (Mattermost writes it to the packet's warning.txt). */
  error: string | null;
  ms: number;
}

export async function generateSupportData(plugin: ActivePlugin): Promise<SupportData> {
  const started = performance.now();
  if (!plugin.implemented.has('GenerateSupportData')) return {files: [], error: null, ms: 0};
  const reply = (await plugin.hooks.call('Plugin.GenerateSupportData', {
    type: GenerateSupportDataArgs,
    value: {A: {SessionId: '', RequestId: '', IPAddress: '', AcceptLanguage: '', UserAgent: ''}},
  })) as {A?: Array<{Filename?: string; Body?: Uint8Array}> | null; B?: unknown};
  const err = interfaceErrorFrom(reply?.B);
  const files = (reply?.A ?? []).map((f) => ({filename: f.Filename ?? '', body: Buffer.from(f.Body ?? new Uint8Array())}));
  return {files, error: err ? err.message : null, ms: Math.round(performance.now() - started)};
}

/** A plain ustar archive of `files` (plus warning.txt when the hook failed). */
export function supportPacketTar(data: SupportData): Buffer {
  const files = [...data.files];
  if (data.error) files.push({filename: 'warning.txt', body: Buffer.from(`GenerateSupportData failed: ${data.error}\n`)});
  const parts: Buffer[] = [];
  const mtime = new Date();
  for (const f of files) {
    const h = new Header({path: f.filename, mode: 0o644, uid: 0, gid: 0, size: f.body.length, mtime, type: 'File'});
    if (h.encode() || !h.block) throw new Error(`support packet: file name too long for ustar: ${f.filename}`);
    parts.push(h.block, f.body, Buffer.alloc((512 - (f.body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
