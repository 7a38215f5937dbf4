#!/usr/bin/env node
// Runs before the test suite: says, one line per tool, what to install for the tests that need
// an outside tool. Under CI=true a missing tool fails the run (CI installs them in .ci/run);
// elsewhere the tests that need it are skipped with the same message.
'use strict';
const { execFileSync } = require('child_process');

const TOOLS = [
  { cmd: 'qemu-riscv32', pkg: 'qemu-user', why: 'reference results for the rv32 guest programs' },
  { cmd: 'riscv64-unknown-elf-gcc', pkg: 'gcc-riscv64-unknown-elf', why: 'checking the committed guest ELFs are up to date' },
  { cmd: 'nats-server', pkg: 'nats-server', why: 'integration tests of the NATS bus and the distributed runtime' },
  { cmd: 'openssl', pkg: 'openssl', why: 'the throwaway certificate authority of the TLS tests' },
  { cmd: 'gdb-multiarch', pkg: 'gdb-multiarch', why: 'tests of the GDB remote stub against a real gdb' },
  { cmd: 'chromium', pkg: 'chromium', why: 'browser tests of the HTML report (headless, driven by playwright-core)' },
];

function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = TOOLS.filter((t) => !has(t.cmd));
for (const t of missing) {
  console.error(`vsim tests: ${t.cmd} not found (${t.why}); install it with: apt-get install -y ${t.pkg}`);
}
if (missing.length && process.env.CI === 'true') process.exit(1);
