import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('./dist/', import.meta.url));

export default defineConfig({
  // Tests run against the compiled output (npm test builds first): that is what users run,
  // and only tsc inlines the interpreter's `const enum` opcodes across modules (vitest's
  // per-file transform would turn every switch case into a property load: ~20x slower).
  resolve: { alias: [{ find: /^(?:\.\.\/)+src\/(.*)$/, replacement: `${dist}$1` }] },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reference/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
