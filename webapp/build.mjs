// Builds the webapp half: webapp/src/index.tsx -> webapp/dist/main.js (one IIFE).
//
//   node webapp/build.mjs [--entry <file>] [--outfile <file>] [--dev]
//
// The Mattermost web app hands plugins its own React, Redux, ... as window globals
// (webapp/channels/src/plugins/export.ts); importing these packages resolves to those
// globals, so the bundle never carries a second copy. Importing a subpath of them
// (react-dom/client, react/jsx-runtime, ...) is an error: the host does not expose it.
// JSX uses the classic runtime (React.createElement; `import React from 'react'`).
/* global console */
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

/**
 * @param {{entry?: string, outfile?: string, dev?: boolean}} [options]
 */
export async function buildWebapp({entry = path.join(here, 'src/index.tsx'), outfile = path.join(here, 'dist/main.js'), dev = false} = {}) {
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
    define: {'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production')},
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    plugins: [hostGlobals],
    logLevel: 'warning',
  });
  return {result, bytes: fs.statSync(outfile).size};
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const {values} = parseArgs({options: {entry: {type: 'string'}, outfile: {type: 'string'}, dev: {type: 'boolean'}}});
  try {
    const {bytes} = await buildWebapp(values);
    const out = path.relative(process.cwd(), values.outfile ?? path.join(here, 'dist/main.js'));
    console.log(`[webapp] ${out}: ${bytes} bytes`);
  } catch (err) {
    console.error(`[webapp] build failed: ${err.message}`);
    process.exit(1);
  }
}
