// Tests for build/release.sh on throwaway git repositories in a temp dir.
// Run: node --import tsx --test build/release.test.ts
import {test, describe, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, 'release.sh');
const NODE_DIR = path.dirname(process.execPath);

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'release-test-'));
after(() => fs.rmSync(tmpRoot, {recursive: true, force: true}));

// Hermetic git: no global/system config (a developer's signing key or hooks must not leak in).
const globalConfig = path.join(tmpRoot, 'gitconfig');
fs.writeFileSync(globalConfig, '[user]\n\tname = Release Test\n\temail = release-test@example.invalid\n[init]\n\tdefaultBranch = main\n');
const baseEnv: NodeJS.ProcessEnv = {
  PATH: `${NODE_DIR}:/usr/local/bin:/usr/bin:/bin`,
  HOME: tmpRoot,
  GIT_CONFIG_GLOBAL: globalConfig,
  GIT_CONFIG_NOSYSTEM: '1',
  LANG: 'C',
};

let counter = 0;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {cwd, env: baseEnv, encoding: 'utf8'}).trim();
}

// hand-formatted like the project's manifest (one-line settings): the release must keep it
const PLUGIN_JSON = `{
  "id": "com.example.test",
  "name": "Test",
  "description": "a \\"version\\": \\"9.9.9\\" in a string",
  "version": "0.0.0",
  "server": {"executables": {"linux-amd64": "server/dist/plugin-linux-amd64"}},
  "settings_schema": {
    "settings": [
      {"key": "version", "type": "text", "default": "0.0.0"},
      {"key": "B", "type": "number", "default": 1,
       "help_text": "x"}
    ]
  }
}
`;
const PACKAGE_JSON = '{\n\t"name": "test",\n\t"version": "0.0.0",\n\t"private": true\n}\n';
const PACKAGE_LOCK = '{\n  "name": "test",\n  "version": "0.0.0",\n  "lockfileVersion": 3,\n  "requires": true,\n  "packages": {\n    "": {\n      "name": "test",\n      "version": "0.0.0"\n    },\n    "node_modules/dep": {\n      "version": "0.0.0"\n    }\n  }\n}\n';

interface RepoOptions {
  tags?: string[]; // each tag goes on its own new commit, in this order
  branch?: string;
  lock?: boolean;
}

function makeRepo(opts: RepoOptions = {}): string {
  const dir = path.join(tmpRoot, `repo${++counter}`);
  fs.mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(dir, 'plugin.json'), PLUGIN_JSON);
  fs.writeFileSync(path.join(dir, 'package.json'), PACKAGE_JSON);
  if (opts.lock !== false) fs.writeFileSync(path.join(dir, 'package-lock.json'), PACKAGE_LOCK);
  fs.writeFileSync(path.join(dir, 'README.md'), 'test\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  for (const tag of opts.tags ?? []) {
    fs.appendFileSync(path.join(dir, 'README.md'), `${tag}\n`);
    git(dir, 'commit', '-q', '-am', `work before ${tag}`);
    git(dir, 'tag', '-a', '-m', tag, tag);
  }
  if (opts.branch && opts.branch !== 'main') git(dir, 'checkout', '-q', '-b', opts.branch);
  return dir;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function release(dir: string, kind: string, env: NodeJS.ProcessEnv = {RELEASE_YES: '1'}): Run {
  const r = spawnSync('bash', [SCRIPT, kind], {cwd: dir, env: {...baseEnv, ...env}, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}

// Runs the script with a pseudo-terminal on stdin (util-linux `script`) and types `answer`.
function releaseOnTty(dir: string, kind: string, answer: string): Run {
  const cmd = `bash ${SCRIPT} ${kind}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {cwd: dir, env: baseEnv, input: answer, encoding: 'utf8'});
  return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}

function readJson(dir: string, file: string): any {
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
}

function tags(dir: string): string[] {
  return git(dir, 'tag', '--list').split('\n').filter(Boolean).sort();
}

describe('version rules', () => {
  const cases: Array<[string[], string, string]> = [
    // [existing tags (oldest first), kind, expected new tag]
    [[], 'patch', 'v0.0.1'],
    [[], 'minor', 'v0.1.0'],
    [[], 'major', 'v1.0.0'],
    [[], 'patch-rc', 'v0.0.1-rc1'],
    [['v1.2.3'], 'patch', 'v1.2.4'],
    [['v1.2.3'], 'minor', 'v1.3.0'],
    [['v1.2.3'], 'major', 'v2.0.0'],
    [['v1.2.3'], 'patch-rc', 'v1.2.4-rc1'],
    [['v1.2.3'], 'minor-rc', 'v1.3.0-rc1'],
    [['v1.2.3'], 'major-rc', 'v2.0.0-rc1'],
    [['v1.2.3', 'v1.2.4-rc1'], 'patch-rc', 'v1.2.4-rc2'],
    [['v1.2.3', 'v1.2.4-rc1', 'v1.2.4-rc2'], 'patch', 'v1.2.4'],
    [['v1.2.4-rc2'], 'minor', 'v1.3.0'],
    [['v1.2.4-rc2'], 'minor-rc', 'v1.3.0-rc1'],
    [['v1.2.4-rc2'], 'major-rc', 'v2.0.0-rc1'],
    [['v1.2.3', 'v1.3.0-rc1'], 'minor-rc', 'v1.3.0-rc2'],
    [['v1.2.3', 'v1.3.0-rc1', 'v1.3.0-rc2'], 'minor', 'v1.3.0'],
    [['v1.3.0-rc2'], 'patch', 'v1.3.0'],
    [['v1.3.0-rc2'], 'patch-rc', 'v1.3.0-rc3'],
    [['v1.3.0-rc2'], 'major', 'v2.0.0'],
    [['v1.9.9', 'v2.0.0-rc1'], 'major-rc', 'v2.0.0-rc2'],
    [['v1.9.9', 'v2.0.0-rc1'], 'major', 'v2.0.0'],
    [['v2.0.0-rc1'], 'minor', 'v2.0.0'],
    [['v2.0.0-rc1'], 'minor-rc', 'v2.0.0-rc2'],
    [['v1.2.9-rc9', 'v1.2.9-rc10'], 'patch-rc', 'v1.2.9-rc11'], // numeric rc order
    [['v1.2.4', 'v1.2.4-rc1'], 'patch', 'v1.2.5'], // final > its rcs, whatever the tag order
    [['v1.10.0', 'v1.9.0'], 'patch', 'v1.10.1'], // semver order, not tag date
    [['v1.2.10', 'v1.2.9'], 'patch', 'v1.2.11'], // numeric, not lexical
    [['v1.2.3', 'v1.5.0-beta1', 'v2', 'release-9.9.9', 'v3.0.0.1', 'V4.0.0', 'v01.0.0'], 'patch', 'v1.2.4'], // foreign tags ignored
  ];
  for (const [existing, kind, expected] of cases) {
    test(`${kind} on [${existing.join(', ') || 'no tag'}] -> ${expected}`, () => {
      const dir = makeRepo({tags: existing});
      const r = release(dir, kind);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `git push origin main ${expected}\n`);
      assert.ok(tags(dir).includes(expected), `tags: ${tags(dir).join(' ')}`);
      assert.equal(readJson(dir, 'plugin.json').version, expected.slice(1));
    });
  }

  test('only tags reachable from HEAD count; a computed tag that exists elsewhere is refused', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    git(dir, 'checkout', '-q', '-b', 'release-1.2');
    git(dir, 'checkout', '-q', 'main');
    fs.appendFileSync(path.join(dir, 'README.md'), 'main work\n');
    git(dir, 'commit', '-q', '-am', 'main work');
    git(dir, 'tag', '-a', '-m', 'v1.3.0', 'v1.3.0');
    git(dir, 'checkout', '-q', 'release-1.2');
    let r = release(dir, 'patch');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'git push origin release-1.2 v1.2.4\n');

    // a tag on another branch that is not merged: the release would collide with it
    git(dir, 'checkout', '-q', '-b', 'release-1.2-other', 'v1.2.3');
    r = release(dir, 'patch');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /tag v1\.2\.4 already exists/);
  });

  test('tags are fetched from origin first (unless RELEASE_NO_FETCH=1)', () => {
    const upstream = makeRepo({tags: ['v1.2.3']});
    const clone = path.join(tmpRoot, `clone${++counter}`);
    git(tmpRoot, 'clone', '-q', upstream, clone);
    git(upstream, 'tag', '-a', '-m', 'v1.2.4', 'v1.2.4'); // on the commit the clone has
    let r = release(clone, 'patch', {RELEASE_YES: '1', RELEASE_NO_FETCH: '1'});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'git push origin main v1.2.4\n');

    const clone2 = path.join(tmpRoot, `clone${++counter}`);
    git(tmpRoot, 'clone', '-q', '--no-tags', upstream, clone2);
    r = release(clone2, 'patch');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'git push origin main v1.2.5\n');
  });
});

describe('refusals', () => {
  test('usage: no argument or an unknown kind', () => {
    const dir = makeRepo();
    for (const args of [[], ['bogus'], ['patch', 'minor']]) {
      const r = spawnSync('bash', [SCRIPT, ...args], {cwd: dir, env: {...baseEnv, RELEASE_YES: '1'}, encoding: 'utf8'});
      assert.equal(r.status, 2);
      assert.match(r.stderr, /usage: .*release\.sh <patch\|minor\|major\|patch-rc\|minor-rc\|major-rc>/);
    }
    assert.deepEqual(tags(dir), []);
  });

  test('dirty tree: modified tracked file', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    const head = git(dir, 'rev-parse', 'HEAD');
    fs.appendFileSync(path.join(dir, 'README.md'), 'uncommitted\n');
    const r = release(dir, 'patch');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /work tree is not clean/);
    assert.match(r.stderr, /README\.md/);
    assert.equal(r.stdout, '');
    assert.deepEqual(tags(dir), ['v1.2.3']);
    assert.equal(git(dir, 'rev-parse', 'HEAD'), head);
  });

  test('dirty tree: staged change', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    fs.writeFileSync(path.join(dir, 'new.txt'), 'x\n');
    git(dir, 'add', 'new.txt');
    const r = release(dir, 'patch');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /work tree is not clean/);
    assert.deepEqual(tags(dir), ['v1.2.3']);
  });

  test('dirty tree: untracked file (ignored files are fine)', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    fs.writeFileSync(path.join(dir, 'stray.txt'), 'x\n');
    let r = release(dir, 'patch');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /work tree is not clean[\s\S]*stray\.txt/);
    assert.deepEqual(tags(dir), ['v1.2.3']);

    fs.rmSync(path.join(dir, 'stray.txt'));
    fs.writeFileSync(path.join(dir, '.gitignore'), 'dist/\n');
    git(dir, 'add', '.gitignore');
    git(dir, 'commit', '-q', '-m', 'ignore dist');
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'bundle.tar.gz'), 'x');
    r = release(dir, 'patch');
    assert.equal(r.status, 0, r.stderr);
  });

  test('wrong branch', () => {
    for (const branch of ['feature/x', 'master', 'mainline', 'my-release']) {
      const dir = makeRepo({tags: ['v1.2.3'], branch});
      const r = release(dir, 'patch');
      assert.equal(r.status, 1, branch);
      assert.match(r.stderr, new RegExp(`not from '${branch.replace('/', '\\/')}'`));
      assert.deepEqual(tags(dir), ['v1.2.3']);
    }
  });

  test('release* branches are accepted', () => {
    for (const branch of ['release-1.2', 'release/1.2', 'release']) {
      const dir = makeRepo({tags: ['v1.2.3'], branch});
      const r = release(dir, 'patch');
      assert.equal(r.status, 0, `${branch}: ${r.stderr}`);
      assert.equal(r.stdout, `git push origin ${branch} v1.2.4\n`);
    }
  });

  test('detached HEAD', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    git(dir, 'checkout', '-q', '--detach');
    const r = release(dir, 'patch');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /detached/);
  });

  test('no plugin.json', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    git(dir, 'rm', '-q', 'plugin.json');
    git(dir, 'commit', '-q', '-m', 'remove manifest');
    const r = release(dir, 'patch');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /plugin\.json not found/);
  });

  test('no terminal and no RELEASE_YES: refuses without asking', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    const head = git(dir, 'rev-parse', 'HEAD');
    const r = release(dir, 'patch', {}); // stdin is /dev/null
    assert.equal(r.status, 1);
    assert.match(r.stderr, /confirmation needs a terminal on stdin; set RELEASE_YES=1/);
    assert.deepEqual(tags(dir), ['v1.2.3']);
    assert.equal(git(dir, 'rev-parse', 'HEAD'), head);
    // a pipe is not a terminal either, even if it says yes
    const piped = spawnSync('bash', [SCRIPT, 'patch'], {cwd: dir, env: baseEnv, input: 'y\n', encoding: 'utf8'});
    assert.equal(piped.status, 1);
    assert.deepEqual(tags(dir), ['v1.2.3']);
  });

  test('declined confirmation on a terminal', () => {
    for (const answer of ['n\n', '\n', 'yes please\n', '']) {
      const dir = makeRepo({tags: ['v1.2.3']});
      const head = git(dir, 'rev-parse', 'HEAD');
      const r = releaseOnTty(dir, 'patch', answer);
      assert.equal(r.status, 1, JSON.stringify(answer));
      assert.match(r.stdout, /Create release v1\.2\.4\? \[y\/N\]/);
      assert.match(r.stdout, /aborted, nothing changed/);
      assert.deepEqual(tags(dir), ['v1.2.3']);
      assert.equal(git(dir, 'rev-parse', 'HEAD'), head);
      assert.equal(git(dir, 'status', '--porcelain'), '');
    }
  });

  test('accepted confirmation on a terminal', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    const r = releaseOnTty(dir, 'minor-rc', 'y\n');
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /latest tag: +v1\.2\.3/);
    assert.match(r.stdout, /git push origin main v1\.3\.0-rc1/);
    assert.deepEqual(tags(dir), ['v1.2.3', 'v1.3.0-rc1']);
  });
});

describe('release commit and tag', () => {
  test('one commit "Release vX.Y.Z" that changes only the version fields', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    const before = git(dir, 'rev-parse', 'HEAD');
    const r = release(dir, 'patch');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(git(dir, 'rev-parse', 'HEAD^'), before, 'exactly one new commit');
    assert.equal(git(dir, 'log', '-1', '--format=%s%n%b', 'HEAD'), 'Release v1.2.4');
    assert.deepEqual(git(dir, 'show', '--format=', '--name-only', 'HEAD').split('\n').sort(), ['package-lock.json', 'package.json', 'plugin.json']);

    // the files are exactly the originals with the version fields replaced (format kept:
    // 2-space indent in plugin.json, tabs in package.json, trailing newline)
    assert.equal(fs.readFileSync(path.join(dir, 'plugin.json'), 'utf8'), PLUGIN_JSON.replace('"version": "0.0.0"', '"version": "1.2.4"'));
    assert.equal(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'), PACKAGE_JSON.replace('"version": "0.0.0"', '"version": "1.2.4"'));
    const lock = readJson(dir, 'package-lock.json');
    assert.equal(lock.version, '1.2.4');
    assert.equal(lock.packages[''].version, '1.2.4');
    assert.equal(lock.packages['node_modules/dep'].version, '0.0.0', 'dependencies untouched');
    const numstat = git(dir, 'show', '--format=', '--numstat', 'HEAD');
    for (const line of numstat.split('\n')) {
      const [added, removed, file] = line.split('\t');
      const expected = file === 'package-lock.json' ? '2' : '1';
      assert.equal(added, expected, line);
      assert.equal(removed, expected, line);
    }
    assert.equal(git(dir, 'status', '--porcelain'), '');
  });

  test('without package-lock.json only plugin.json and package.json change', () => {
    const dir = makeRepo({tags: ['v0.4.1'], lock: false});
    const r = release(dir, 'minor');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(git(dir, 'show', '--format=', '--name-only', 'HEAD').split('\n').sort(), ['package.json', 'plugin.json']);
    assert.equal(readJson(dir, 'package.json').version, '0.5.0');
    assert.equal(readJson(dir, 'plugin.json').version, '0.5.0');
  });

  test('the tag is annotated, points at the release commit, and nothing is pushed', () => {
    const remote = path.join(tmpRoot, `remote${++counter}.git`);
    git(tmpRoot, 'init', '-q', '--bare', remote);
    const dir = makeRepo({tags: ['v1.2.3']});
    git(dir, 'remote', 'add', 'origin', remote);
    git(dir, 'push', '-q', 'origin', 'main', 'v1.2.3');
    const remoteBefore = git(dir, 'ls-remote', 'origin');

    const r = release(dir, 'patch-rc');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'git push origin main v1.2.4-rc1\n');
    assert.match(r.stderr, /Nothing was pushed/);
    assert.equal(git(dir, 'cat-file', '-t', 'v1.2.4-rc1'), 'tag');
    assert.equal(git(dir, 'rev-parse', 'v1.2.4-rc1^{commit}'), git(dir, 'rev-parse', 'HEAD'));
    const tagObject = git(dir, 'cat-file', 'tag', 'v1.2.4-rc1');
    assert.match(tagObject, /\ntag v1\.2\.4-rc1\n/);
    assert.match(tagObject, /\n\nRelease v1\.2\.4-rc1$/);
    assert.doesNotMatch(tagObject, /BEGIN/);

    assert.equal(git(dir, 'ls-remote', 'origin'), remoteBefore, 'the remote is untouched');
    // the printed command is the one that publishes it
    execFileSync('bash', ['-c', r.stdout], {cwd: dir, env: baseEnv, stdio: 'ignore'});
    const remoteAfter = git(dir, 'ls-remote', 'origin');
    assert.match(remoteAfter, /refs\/tags\/v1\.2\.4-rc1\n/);
    assert.ok(remoteAfter.includes(`${git(dir, 'rev-parse', 'HEAD')}\trefs/heads/main`));
  });

  test('the tag is signed (-s) when user.signingkey is set', () => {
    const dir = makeRepo({tags: ['v1.2.3']});
    const key = path.join(tmpRoot, `key${++counter}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'release-test', '-f', key], {env: baseEnv});
    git(dir, 'config', 'gpg.format', 'ssh');
    git(dir, 'config', 'user.signingkey', `${key}.pub`);
    const r = release(dir, 'major');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(git(dir, 'cat-file', '-t', 'v2.0.0'), 'tag');
    assert.match(git(dir, 'cat-file', 'tag', 'v2.0.0'), /-----BEGIN SSH SIGNATURE-----/);
  });
});
