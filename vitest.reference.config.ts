import { defineConfig } from 'vitest/config';

// Differential tests against QEMU 7.2 and Debian's OpenSBI: need Debian packages
// (scripts/setup-reference.sh installs them).
export default defineConfig({
  test: {
    include: ['test/reference/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
