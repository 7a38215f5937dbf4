#!/usr/bin/env node
// The vsim-gateway service: its compiled bundle (apps/gateway/dist/main.js) with plain node, or in a
// development tree the TypeScript sources through tsx (scripts/launch.js says which and when).
'use strict';
require('../../../scripts/launch.js').launch('gateway');
