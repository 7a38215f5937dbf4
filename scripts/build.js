#!/usr/bin/env node
// The compiled build: each app (the vsim CLI and the four services) bundled with esbuild into one
// CommonJS file, apps/<app>/dist/main.js, with the workspace libraries (@vsim/*, whose packages point
// at TypeScript sources) compiled in and every npm package left external (installed beside it by
// `npm ci --omit=dev`). The apps' bin/ launchers run these files with plain node, so production
// needs no tsx and starts without compiling TypeScript; in a development tree they fall back to tsx
// while a bundle is missing or older than the sources (scripts/launch.js). Type checking stays
// `tsc --noEmit` (esbuild only strips types).
//
//   node scripts/build.js                       every app
//   node scripts/build.js cli gateway
//   node scripts/build.js --outdir DIR [APPS]   DIR/<app>/main.js instead (tests; the launchers never look there)
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const APPS = ['cli', 'gateway', 'hypervisor', 'scheduler', 'cpu-node'];

/** Bare imports (npm packages, Node built-ins) stay external; the workspace's own @vsim/* are compiled in. */
const externalPackages = {
  name: 'external-npm-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@vsim/') ? undefined /* compiled in, through tsconfig paths */ : { path: args.path, external: true },
    );
  },
};

/**
 * `__dirname` in a workspace source means that source's own directory (libs/report finds its assets
 * beside it, the CLI its repository root); in a bundle it would be the bundle's. Each use is
 * rewritten to the source's directory relative to the bundle, which sits three levels below the
 * repository root (apps/<app>/dist/main.js, or DIR/<app>/main.js for --outdir inside the repository).
 */
const sourceDirname = {
  name: 'source-dirname',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8');
      if (!/\b__dirname\b/.test(text)) return undefined;
      const rel = path.relative(ROOT, path.dirname(args.path)).split(path.sep).join('/');
      return { contents: text.replace(/\b__dirname\b/g, `require('path').join(__dirname, '../../..', ${JSON.stringify(rel)})`), loader: 'ts' };
    });
  },
};

async function buildApp(esbuild, app, outdir) {
  const outfile = outdir ? path.join(outdir, app, 'main.js') : path.join(ROOT, 'apps', app, 'dist', 'main.js');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'apps', app, 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    plugins: [externalPackages, sourceDirname],
    logLevel: 'warning',
    // The CLI's main.ts runs cli() itself when it is the entry (require.main === module).
  });
  return outfile;
}

async function main(argv) {
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    process.stderr.write('vsim build: esbuild is not installed (a devDependency: run npm ci)\n');
    return 1;
  }
  const at = argv.indexOf('--outdir');
  const outdir = at >= 0 ? path.resolve(argv[at + 1]) : undefined;
  const named = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
  const apps = named.length > 0 ? named : APPS;
  const unknown = apps.filter((a) => !APPS.includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`vsim build: unknown app ${unknown.join(', ')} (apps: ${APPS.join(', ')})\n`);
    return 2;
  }
  const t0 = process.hrtime.bigint();
  const outs = [];
  for (const app of apps) outs.push(path.relative(ROOT, await buildApp(esbuild, app, outdir)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`vsim build: ${outs.join(', ')} (${ms.toFixed(0)} ms)\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`vsim build: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}

module.exports = { APPS, buildApp };
