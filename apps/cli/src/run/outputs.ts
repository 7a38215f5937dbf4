// The files `vsim run` writes (--json, --events), opened before the run starts, so a path that
// cannot be written fails in the first second rather than after the whole simulation. `-` is
// standard output.

import * as fs from 'fs';
import { Output } from '../io';

/** Cannot create the output file (BSD sysexits EX_CANTCREAT). */
export const EX_CANTCREAT = 73;

export class OutputError extends Error {
  override readonly name = 'OutputError';
}

export interface RunOutput {
  /** Writes the whole content and closes the file. */
  write(text: string): void;
  /** Closes without writing (the run failed): a file created for it is removed. */
  abandon(): void;
  readonly toStdout: boolean;
}

/** Opens `path` for writing now (created or truncated); `-` is `stdout`. */
export function openOutput(option: string, path: string, stdout: Output): RunOutput {
  if (path === '-') return { write: (text) => stdout.write(text), abandon: () => undefined, toStdout: true };
  const existed = fs.existsSync(path);
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'w');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such directory'
        : err.code === 'EISDIR'
          ? 'is a directory'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.message;
    throw new OutputError(`${option} ${path}: cannot write (${why})`);
  }
  const close = () => {
    if (fd === undefined) return;
    fs.closeSync(fd);
    fd = undefined;
  };
  return {
    toStdout: false,
    write: (text) => {
      fs.writeSync(fd!, text);
      close();
    },
    abandon: () => {
      close();
      if (!existed) fs.rmSync(path, { force: true });
    },
  };
}
