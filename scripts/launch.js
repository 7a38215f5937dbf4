// What every bin/ launcher runs (the vsim CLI, the four services): the app's compiled bundle
// (apps/<app>/dist/main.js, `npm run build`) with plain node — production needs no tsx and compiles
// nothing at start-up — or, in a development tree (tsx installed) while the bundle is missing or
// older than any source, the TypeScript sources through tsx, compiled with the workspace's
// tsconfig wherever the command is run from. VSIM_FROM_SOURCE=1 forces the sources (tsx).
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');

function hasTsx() {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
}

/** The newest modification time of the TypeScript sources a bundle is built from. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') || e.name === 'package.json') newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const group of ['apps', 'libs']) {
    for (const project of fs.readdirSync(path.join(ROOT, group))) {
      walk(path.join(ROOT, group, project, 'src'));
      const pkg = path.join(ROOT, group, project, 'package.json');
      if (fs.existsSync(pkg)) newest = Math.max(newest, fs.statSync(pkg).mtimeMs);
    }
  }
  return newest;
}

/** Which to run: 'dist' (the bundle) or 'source' (tsx), and why, for VSIM_DEBUG_LAUNCH. */
function choose(app) {
  const dist = path.join(ROOT, 'apps', app, 'dist', 'main.js');
  const tsx = hasTsx();
  if (process.env.VSIM_FROM_SOURCE === '1')
    return tsx ? { run: 'source', why: 'VSIM_FROM_SOURCE=1' } : { run: 'none', why: 'VSIM_FROM_SOURCE=1 but tsx is not installed' };
  if (!fs.existsSync(dist))
    return tsx
      ? { run: 'source', why: `no ${path.relative(ROOT, dist)} (npm run build)` }
      : { run: 'none', why: `${path.relative(ROOT, dist)} is missing: run npm run build` };
  if (tsx && fs.statSync(dist).mtimeMs < newestSource()) return { run: 'source', why: `${path.relative(ROOT, dist)} is older than the sources` };
  return { run: 'dist', why: path.relative(ROOT, dist) };
}

/** Loads app `app` (an apps/ directory name) and returns its module (the CLI's exports cli()). */
function launch(app) {
  const how = choose(app);
  if (process.env.VSIM_DEBUG_LAUNCH) process.stderr.write(`vsim launch ${app}: ${how.run} (${how.why})\n`);
  if (how.run === 'dist') return require(path.join(ROOT, 'apps', app, 'dist', 'main.js'));
  if (how.run === 'none') {
    process.stderr.write(`vsim: ${how.why}\n`);
    process.exit(1);
  }
  const tsconfig = path.join(ROOT, 'tsconfig.json');
  if (fs.existsSync(tsconfig)) process.env.TSX_TSCONFIG_PATH = tsconfig;
  require('tsx/cjs');
  return require(path.join(ROOT, 'apps', app, 'src', 'main.ts'));
}

module.exports = { launch, choose };
