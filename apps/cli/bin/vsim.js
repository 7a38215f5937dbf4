#!/usr/bin/env node
// The `vsim` command: runs the TypeScript sources directly through tsx, so it works right after
// `npm ci` with no build step. tsx compiles with the workspace's tsconfig wherever vsim is run
// from (not whatever tsconfig.json happens to be in the current directory).
'use strict';
const fs = require('fs');
const path = require('path');
const tsconfig = path.join(__dirname, '..', '..', '..', 'tsconfig.json');
if (fs.existsSync(tsconfig)) process.env.TSX_TSCONFIG_PATH = tsconfig;
require('tsx/cjs');
require('../src/main.ts').cli();
