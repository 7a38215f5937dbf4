#!/usr/bin/env node
// The vsim-scheduler service: its compiled bundle (apps/scheduler/dist/main.js) with plain node, or in a
// development tree the TypeScript sources through tsx (scripts/launch.js says which and when).
'use strict';
require('../../../scripts/launch.js').launch('scheduler');
