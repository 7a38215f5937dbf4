// Where commands write. Output goes straight to file descriptors 1 and 2 with fs.writeSync, so
// guest output appears as the guest writes it, stdout and stderr stay in the order written, and
// nothing is left buffered when the process exits.

import * as fs from 'fs';

export interface Output {
  write(data: Uint8Array | string): void;
}

export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
}

/** Writes everything to `fd`, synchronously. A closed reader (EPIPE) silently drops further output. */
export class FdOutput implements Output {
  private closed = false;

  constructor(private readonly fd: number) {}

  write(data: Uint8Array | string): void {
    if (this.closed) return;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) {
      try {
        off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          // A non-blocking pipe is full: wait a moment for the reader.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          continue;
        }
        if (code === 'EPIPE') {
          this.closed = true;
          return;
        }
        throw e;
      }
    }
  }
}

export const processIo: Io = { stdout: new FdOutput(1), stderr: new FdOutput(2) };
