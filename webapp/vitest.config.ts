// Component tests: jsdom + Testing Library, React 18 from node_modules (the bundle maps it
// to the host's window.React instead). Classic JSX, as in the bundle.
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {defineConfig} from 'vitest/config';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  oxc: {jsx: {runtime: 'classic'}},
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'test/**/*.test.{ts,tsx}'],
    setupFiles: ['vitest-canvas-mock', path.join(here, 'test/setup.ts')],
    restoreMocks: true,
  },
});
