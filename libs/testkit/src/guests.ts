// Where the repository's guest programs are. Library code never looks them up (it is given paths or
// bytes); tests, benchmarks and the CLI do.

import { resolve } from 'path';

/** The repository's root (this file is libs/testkit/src/guests.ts). */
export const REPO_ROOT = resolve(__dirname, '../../..');

/** guests/ of this repository. */
export const GUESTS_DIR = resolve(REPO_ROOT, 'guests');

/** guests/rv32/bin: the rv32 guest programs' ELF images. */
export const GUEST_BIN = resolve(GUESTS_DIR, 'rv32/bin');
