// Builds the webapp half as two IIFE files in one directory:
//   webapp/src/dashboard/chunk.ts -> webapp/dist/dashboard.js  (the performance dashboard, uPlot,
//                                    prometheus-query; packaged as public/dashboard.js)
//   webapp/src/index.tsx          -> webapp/dist/main.js       (what Mattermost loads for every user)
// The dashboard is built first: main.js carries its content hash (DASHBOARD_CHUNK_HASH) so the
// loader asks for public/dashboard.js?v=<hash> and a browser never runs a stale cached copy.
//
//   node webapp/build.mjs [--outfile <main.js>] [--dev]     both files (dashboard.js beside main.js)
//   node webapp/build.mjs --entry <file> --outfile <file>   that one entry only
//
// The Mattermost web app hands plugins its own React, Redux, ... as window globals
// (webapp/channels/src/plugins/export.ts); importing these packages resolves to those
// globals, so the bundle never carries a second copy. Importing a subpath of them
// (react-dom/client, react/jsx-runtime, ...) is an error: the host does not expose it.
// JSX uses the classic runtime (React.createElement; `import React from 'react'`).
/* global console */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

export const HOST_GLOBALS = {
  'react': 'React',
  'react-dom': 'ReactDOM',
  'redux': 'Redux',
  'react-redux': 'ReactRedux',
  'prop-types': 'PropTypes',
  'react-bootstrap': 'ReactBootstrap',
  'react-router-dom': 'ReactRouterDom',
  'react-intl': 'ReactIntl',
  'luxon': 'Luxon',
};

const names = Object.keys(HOST_GLOBALS).map((n) => n.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|');

/** @type {esbuild.Plugin} */
const hostGlobals = {
  name: 'mattermost-host-globals',
  setup(build) {
    build.onResolve({filter: new RegExp(`^(${names})$`)}, (args) => ({path: args.path, namespace: 'host-global'}));
    build.onResolve({filter: new RegExp(`^(${names})/`)}, (args) => ({
      errors: [{text: `"${args.path}" is not available: the Mattermost web app only exposes "${args.path.split('/')[0]}" itself as a global (use the classic JSX runtime for react)`}],
    }));
    build.onLoad({filter: /.*/, namespace: 'host-global'}, (args) => ({
      contents: `module.exports = window.${HOST_GLOBALS[args.path]};`,
      loader: 'js',
    }));
  },
};

/** File name of the dashboard chunk, beside main.js in the build and under public/ in the bundle. */
export const DASHBOARD_CHUNK = 'dashboard.js';

/**
 * @param {{entry: string, outfile: string, dev: boolean, define?: Record<string, string>}} options
 */
async function buildEntry({entry, outfile, dev, define = {}}) {
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'transform',
    jsxFactory: 'React.createElement',
    jsxFragment: 'React.Fragment',
    define: {'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production'), ...define},
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    plugins: [hostGlobals],
    logLevel: 'warning',
  });
  return {result, bytes: fs.statSync(outfile).size};
}

/** The version main.js asks for: the first 16 hex digits of the chunk's SHA-256. */
export function chunkHash(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
}

/**
 * Without `entry`: dashboard.js (beside `outfile`), then main.js knowing its hash.
 * With `entry`: just that entry into `outfile`.
 * @param {{entry?: string, outfile?: string, dev?: boolean}} [options]
 * @returns {Promise<{bytes: number, outfile: string, chunk?: {outfile: string, bytes: number, hash: string}}>}
 */
export async function buildWebapp({entry, outfile = path.join(here, 'dist/main.js'), dev = false} = {}) {
  if (entry) {
    const {bytes} = await buildEntry({entry, outfile, dev});
    return {bytes, outfile};
  }
  const chunkFile = path.join(path.dirname(outfile), DASHBOARD_CHUNK);
  const chunk = await buildEntry({entry: path.join(here, 'src/dashboard/chunk.ts'), outfile: chunkFile, dev});
  const hash = chunkHash(chunkFile);
  const main = await buildEntry({entry: path.join(here, 'src/index.tsx'), outfile, dev, define: {DASHBOARD_CHUNK_HASH: JSON.stringify(hash)}});
  return {bytes: main.bytes, outfile, chunk: {outfile: chunkFile, bytes: chunk.bytes, hash}};
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const {values} = parseArgs({options: {entry: {type: 'string'}, outfile: {type: 'string'}, dev: {type: 'boolean'}}});
  try {
    const {bytes, outfile, chunk} = await buildWebapp(values);
    if (chunk) console.log(`[webapp] ${path.relative(process.cwd(), chunk.outfile)}: ${chunk.bytes} bytes (v=${chunk.hash})`);
    console.log(`[webapp] ${path.relative(process.cwd(), outfile)}: ${bytes} bytes`);
  } catch (err) {
    console.error(`[webapp] build failed: ${err.message}`);
    process.exit(1);
  }
}
