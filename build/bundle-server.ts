// Bundles the server half into one CommonJS file for the Node single-executable application.
//
//   node --import tsx build/bundle-server.ts <entry.ts> <outfile.cjs>
//
// * A SEA's main script is CommonJS and its require() loads only built-in modules, so
//   everything else must be inside the bundle. The build fails if the output still
//   imports a non-built-in module.
// * Optional native/CRT add-ons that dependencies probe with require() inside try/catch
//   (pg-native, @aws-sdk/signature-v4-crt, ...) are replaced by a module that throws
//   MODULE_NOT_FOUND, exactly what the probe sees when the add-on is not installed. An empty
//   module would make some probes (ws/bufferutil) believe the add-on is present; leaving
//   them external would make the SEA print a warning at run time.
// * ESM-only dependencies that use import.meta.url/dirname/filename get CommonJS
//   equivalents (in a SEA __filename is the executable's path).
import {isBuiltin} from 'node:module';
import {existsSync} from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const OPTIONAL_NATIVE_MODULES = [
  'pg-native',
  '@aws-sdk/signature-v4-crt',
  'aws-crt',
  'bufferutil',
  'utf-8-validate',
];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const missingOptionalModules: esbuild.Plugin = {
  name: 'missing-optional-modules',
  setup(build) {
    const filter = new RegExp(`^(${OPTIONAL_NATIVE_MODULES.map(escapeRegExp).join('|')})(/.*)?$`);
    build.onResolve({filter}, (args) => ({path: args.path, namespace: 'missing-module'}));
    build.onLoad({filter: /.*/, namespace: 'missing-module'}, (args) => ({
      contents:
        `const e = new Error(${JSON.stringify(`Cannot find module '${args.path}' (not part of the plugin bundle)`)});\n` +
        `e.code = 'MODULE_NOT_FOUND';\nthrow e;\n`,
      loader: 'js',
    }));
  },
};

// Worker threads of a SEA cannot load files from the bundle: the worker entry is compiled
// on its own and embedded in the main bundle as a string (server/src/worker/pool.ts).
const WORKER_ENTRY = 'server/src/worker/main.ts';

async function bundleWorker(): Promise<string | undefined> {
  if (!existsSync(WORKER_ENTRY)) return undefined;
  const result = await esbuild.build({...commonOptions(), entryPoints: [WORKER_ENTRY], write: false});
  checkNoForeignImports(result.metafile);
  return result.outputFiles[0].text;
}

function commonOptions(): esbuild.BuildOptions & {metafile: true} {
  return {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    define: {
      'import.meta.url': '__import_meta_url',
      'import.meta.filename': '__filename',
      'import.meta.dirname': '__dirname',
      'import.meta.resolve': '__import_meta_resolve',
    },
    banner: {
      js:
        "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;\n" +
        "const __import_meta_resolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
    },
    plugins: [missingOptionalModules],
    metafile: true,
    logLevel: 'warning',
  };
}

function checkNoForeignImports(metafile: esbuild.Metafile): void {
  const foreign = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imp of output.imports) {
      if (imp.external && !isBuiltin(imp.path)) foreign.add(imp.path);
    }
  }
  if (foreign.size > 0) {
    throw new Error(
      `the bundle still requires non-built-in modules at run time: ${[...foreign].join(', ')}\n` +
        'A SEA cannot load them. Install them (pure JS only), or, if they are optional native add-ons, ' +
        'add them to OPTIONAL_NATIVE_MODULES in build/bundle-server.ts.',
    );
  }
}

async function bundleServer(entry: string, outfile: string): Promise<esbuild.Metafile> {
  const workerSource = await bundleWorker();
  const common = commonOptions();
  const result = await esbuild.build({
    ...common,
    define: {...common.define, ...(workerSource === undefined ? {} : {__MM_WORKER_SOURCE__: JSON.stringify(workerSource)})},
    entryPoints: [entry],
    outfile,
  });
  checkNoForeignImports(result.metafile);
  return result.metafile;
}

async function main(): Promise<void> {
  const [entry, outfile] = process.argv.slice(2);
  if (!entry || !outfile) {
    console.error('usage: node --import tsx build/bundle-server.ts <entry.ts> <outfile.cjs>');
    process.exit(2);
  }
  const metafile = await bundleServer(entry, outfile);
  const out = metafile.outputs[path.relative(process.cwd(), path.resolve(outfile))] ?? Object.values(metafile.outputs)[0];
  const inputs = Object.keys(metafile.inputs).length;
  console.error(`[dist] server bundle ${outfile}: ${(out.bytes / 1024).toFixed(0)} KiB from ${inputs} input files`);
}

main().catch((err: Error) => {
  console.error(`[dist] server bundle failed: ${err.message}`);
  process.exit(1);
});
