// `vsim run`'s checkpoint options (--checkpoint-interval, --checkpoint-dir, --resume,
// --resume-index) as runEmbedded's: checked before anything runs, each problem naming its option.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CheckpointStore, DirectoryCheckpointStore } from '@vsim/bus';
import { parseTime } from '@vsim/scenario';

export interface CheckpointOptions {
  readonly checkpoint?: { readonly store: CheckpointStore; readonly intervalNs: number };
  readonly resume?: { readonly store: CheckpointStore; readonly index?: number };
  readonly warnings: readonly string[];
}

/** The embedded runner's simulation id: checkpoints of `vsim run` live under it. */
const EMBEDDED_SIM = 'embedded';

export async function checkpointOptions(
  o: { 'checkpoint-interval'?: string; 'checkpoint-dir'?: string; resume?: string; 'resume-index'?: number },
  scenarioIntervalNs: number | undefined,
): Promise<CheckpointOptions> {
  const warnings: string[] = [];
  let intervalNs = scenarioIntervalNs;
  if (o['checkpoint-interval'] !== undefined) {
    const t = parseTime(o['checkpoint-interval']);
    if (!t.ok) throw new RangeError(`--checkpoint-interval: ${t.message}`);
    if (!(t.value >= 1)) throw new RangeError(`--checkpoint-interval must be at least 1ns, got ${o['checkpoint-interval']}`);
    intervalNs = t.value;
  }
  if (o['resume-index'] !== undefined && o.resume === undefined) throw new RangeError('--resume-index needs --resume DIR');
  let resume: CheckpointOptions['resume'];
  if (o.resume !== undefined) {
    const dir = resolve(o.resume);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RangeError(`--resume ${o.resume}: no such directory`);
    const store = new DirectoryCheckpointStore(dir);
    if ((await store.list(`${EMBEDDED_SIM}/`)).length === 0)
      throw new RangeError(`--resume ${o.resume}: the directory holds no checkpoint of a vsim run`);
    resume = { store, index: o['resume-index'] };
  }
  const dir = o['checkpoint-dir'];
  if (intervalNs === undefined) {
    if (dir !== undefined)
      throw new RangeError('--checkpoint-dir needs an interval: --checkpoint-interval TIME, or checkpoint.interval in the scenario');
    return { resume, warnings };
  }
  if (dir === undefined) {
    // A resumed run goes on checkpointing where it resumed from; otherwise there is nowhere to write.
    if (resume) return { resume, checkpoint: { store: resume.store, intervalNs }, warnings };
    if (o['checkpoint-interval'] !== undefined) throw new RangeError('--checkpoint-interval needs --checkpoint-dir DIR (where the checkpoints go)');
    warnings.push('the scenario asks for checkpoints (checkpoint.interval), but no --checkpoint-dir says where: none are taken');
    return { resume, warnings };
  }
  if (resume && resolve(dir) !== (resume.store as DirectoryCheckpointStore).dir)
    throw new RangeError('--checkpoint-dir: a resumed run checkpoints into the directory it resumes from (give the same DIR, or leave it out)');
  if (resume) return { resume, checkpoint: { store: resume.store, intervalNs }, warnings };
  const store = new DirectoryCheckpointStore(resolve(dir));
  if ((await store.list(`${EMBEDDED_SIM}/`)).length > 0)
    throw new RangeError(`--checkpoint-dir ${dir} already holds checkpoints of a run (resume it with --resume ${dir}, or give an empty directory)`);
  return { checkpoint: { store, intervalNs }, warnings };
}
