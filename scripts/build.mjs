// Bundles the extension client, the language server and the CLI into dist/ with esbuild.
//
//   node scripts/build.mjs               one build, with source maps
//   node scripts/build.mjs --production  minified (what `npm run package` ships)
//   node scripts/build.mjs --watch       rebuild on change
//
// Everything a bundle needs is inside it (the .vsix is packaged with --no-dependencies), except:
// - `vscode`, which the extension host provides (client only);
// - native addons that dockerode's ssh2 loads inside try/catch (`cpu-features`, `*.node`): bundled,
//   they break wherever they did not compile; left external, ssh2 falls back to plain JavaScript.
import * as esbuild from 'esbuild';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const nativeOptional = ['cpu-features', '*.node'];

/** @type {{ name: string, entry: string, outfile: string, external?: string[], banner?: string }[]} */
const bundles = [
  { name: 'client', entry: 'client/src/extension.ts', outfile: 'dist/client.js', external: ['vscode'] },
  { name: 'server', entry: 'server/src/main.ts', outfile: 'dist/server.js' },
  { name: 'cli', entry: 'cli/src/main.ts', outfile: 'dist/cli.js', banner: '#!/usr/bin/env node' },
];

/** @param {(typeof bundles)[number]} b @returns {esbuild.BuildOptions} */
function options(b) {
  return {
    absWorkingDir: root,
    entryPoints: [b.entry],
    outfile: b.outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    minify: production,
    keepNames: true, // error messages and stack traces keep readable class/function names
    external: [...(b.external ?? []), ...nativeOptional],
    // esbuild keeps an entry's own `#!` line; add the banner only when the source has none.
    banner: b.banner && !readFileSync(join(root, b.entry), 'utf8').startsWith('#!') ? { js: b.banner } : undefined,
    define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
    logLevel: 'warning',
  };
}

const present = bundles.filter((b) => {
  if (existsSync(join(root, b.entry))) return true;
  console.warn(`build: skipping ${b.name}: ${b.entry} does not exist yet`);
  return false;
});

if (watch) {
  for (const b of present) {
    const ctx = await esbuild.context({
      ...options(b),
      plugins: [{ name: 'report', setup: (build) => build.onEnd((r) => console.log(`[watch] ${b.name}: ${r.errors.length ? `${r.errors.length} error(s)` : 'built'}`)) }],
    });
    await ctx.watch();
  }
  console.log('build: watching for changes (Ctrl+C to stop)');
} else {
  const started = Date.now();
  const results = await Promise.allSettled(present.map((b) => esbuild.build(options(b))));
  let failed = 0;
  results.forEach((r, i) => {
    const b = present[i];
    if (r.status === 'rejected') {
      failed++;
      console.error(`build: ${b.name} failed`);
      return;
    }
    const kb = (statSync(join(root, b.outfile)).size / 1024).toFixed(0);
    console.log(`build: ${relative(root, join(root, b.outfile))} ${kb} KiB`);
  });
  console.log(`build: ${production ? 'production' : 'development'} build in ${Date.now() - started} ms`);
  process.exit(failed ? 1 : 0);
}
