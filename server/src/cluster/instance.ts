// Which process ran this node before us. Mattermost runs one plugin process per node and
// starts a new one only after the old one is gone (a crash, a restart, an upgrade), and a
// data dir is only ever used by one node. So the instance recorded in the data dir when we
// start is dead, and a lease it still holds can be taken over at once (lease.ts) instead of
// losing a lease lifetime of scrapes after every crash.
import fs from 'node:fs';
import path from 'node:path';

export const INSTANCE_FILE = 'mm-instance.json';

/**
 * Records `nodeId` as the instance using `dataDir` and returns the one recorded before
 * (undefined: none, or unreadable — then nothing is taken over early).
 */
export function claimDataDir(dataDir: string, nodeId: string): string | undefined {
  const file = path.join(dataDir, INSTANCE_FILE);
  let previous: string | undefined;
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as {node?: unknown};
    if (typeof parsed.node === 'string' && parsed.node !== '') previous = parsed.node;
  } catch {
    previous = undefined;
  }
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({node: nodeId, pid: process.pid, since: new Date().toISOString()}) + '\n');
  fs.renameSync(tmp, file);
  return previous;
}
