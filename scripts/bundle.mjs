// Bundles the compiled CLI (dist/cli/main.js and the modules it imports) into
// dist/bundle/hvtrace.mjs, the `hvtrace` command (package.json "bin"), plus one chunk per
// dynamically imported part (a command's own modules load only when that command runs). Run by
// `npm run build` after tsc.
//
// Why: Node loads an ES module per file (resolve, read, compile, link): `hvtrace run` imports
// ~80 of them, 120-140 ms of every start-up on this machine class (a `run` of the tiny hello
// guest is ~0.37 s, `node -e 0` ~0.11 s). Measured, fresh processes alternating, host loaded
// ~4x its 2 cores, median main-thread CPU: hello 0.32 -> 0.29 s (9 pairs), the Linux boot
// 1.61 -> 1.56 s (5 pairs). One file with everything (no chunks) was slower than no bundle
// (hello 0.37 s): the modules other commands need were parsed too.
//
// What stays as it is:
//  - Packages (better-sqlite3 has a native addon; commander, msgpackr, protobufjs are loaded
//    from node_modules as before).
//  - Each module's `import.meta.url` keeps meaning its own file in dist/: the bundle sits one
//    directory below dist/ like the modules' own directories, and every `import.meta.url` of a
//    module dist/D/F.js becomes the URL of ../D/F.js relative to the bundle. So the worker
//    threads (trace/writer-worker.js, ...) start from their compiled files in dist/, and
//    PACKAGE_ROOT, the schemas and the guest images resolve as before.
// The unbundled dist/cli/main.js stays: the tests run it and import its modules;
// test/install.test.ts runs the bundle (the installed command: --version, run, record, info).
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;

/** Rewrites import.meta.url in every dist module to the URL of that module's own file. */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      // The bundled compile thread starts from its own bundle (next to this one), not dist/cli.
      text = text.replace(`new URL('./compile-worker.js', import.meta.url)`, `new URL('./compile-worker.mjs', BUNDLE_URL)`);
      if (!text.includes('import.meta.url')) return { contents: text.replace('BUNDLE_URL', 'import.meta.url'), loader: 'js' };
      const rel = relative(dist, args.path).split(sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(`../${rel}`)}, import.meta.url).href`).replace('BUNDLE_URL', 'import.meta.url'), loader: 'js' };
    });
  },
};

// Chunk names carry content hashes: drop the last build's.
rmSync(`${dist}/bundle`, { recursive: true, force: true });

await build({
  entryPoints: { hvtrace: `${dist}/cli/main.js`, 'compile-worker': `${dist}/cli/compile-worker.js` },
  outdir: `${dist}/bundle`,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  plugins: [ownUrl],
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
