import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('./dist/', import.meta.url));

// Differential tests against QEMU 7.2 and Debian's OpenSBI: need Debian packages
// (scripts/setup-reference.sh installs them).
export default defineConfig({
  // Against the compiled output, as vitest.config.ts explains.
  resolve: { alias: [{ find: /^(?:\.\.\/)+src\/(.*)$/, replacement: `${dist}$1` }] },
  test: {
    include: ['test/reference/**/*.test.ts'],
    // $QEMU / $FW_JUMP: the environment is read by the tests, not by src/ (test/reference/setup-env.ts).
    setupFiles: ['test/reference/setup-env.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
