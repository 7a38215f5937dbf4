#!/usr/bin/env node
// The vsim-cpu-node service: runs the TypeScript sources through tsx (no build step), compiled with the
// workspace's tsconfig wherever it is started from. Same as: node --import tsx apps/cpu-node/src/main.ts
'use strict';
const fs = require('fs');
const path = require('path');
const tsconfig = path.join(__dirname, '..', '..', '..', 'tsconfig.json');
if (fs.existsSync(tsconfig)) process.env.TSX_TSCONFIG_PATH = tsconfig;
require('tsx/cjs');
require('../src/main.ts');
