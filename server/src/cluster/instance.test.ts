import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {INSTANCE_FILE, claimDataDir} from './instance.ts';

void test('each process records itself in the data dir and learns who ran before', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'instance-'));
  try {
    assert.equal(claimDataDir(dir, 'app-1#aaaa'), undefined);
    assert.equal(claimDataDir(dir, 'app-1#bbbb'), 'app-1#aaaa');
    assert.equal(claimDataDir(dir, 'app-1#cccc'), 'app-1#bbbb');
    fs.writeFileSync(path.join(dir, INSTANCE_FILE), '{torn');
    assert.equal(claimDataDir(dir, 'app-1#dddd'), undefined, 'an unreadable record names nobody');
    assert.equal(claimDataDir(dir, 'app-1#eeee'), 'app-1#dddd');
    assert.deepEqual(fs.readdirSync(dir), [INSTANCE_FILE]);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
