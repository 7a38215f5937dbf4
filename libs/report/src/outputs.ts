// Writing what `vsim run --report/--trace/--xentrace` and `vsim report` ask for.

import { closeSync, openSync, writeFileSync, writeSync } from 'fs';
import type { Event } from '@vsim/proto';
import type { SimResult } from '@vsim/control';
import { writeChromeTrace } from './chrome-trace';
import { writeHtml } from './html';
import { buildReportData } from './model';
import { xentrace } from './xentrace/writer';

export interface OutputFiles {
  /** The HTML report. */
  readonly report?: string;
  /** Chrome Trace Event JSON. */
  readonly trace?: string;
  /** Xen trace records: this file for a single host, one file per host otherwise (xentraceFileFor). */
  readonly xentrace?: string;
}

/** The xentrace file of `host`: FILE itself on a one-host run, else FILE with `.<host>` before its extension. */
export function xentraceFileFor(file: string, host: string, hosts: number): string {
  if (hosts <= 1) return file;
  const dot = file.lastIndexOf('.');
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return dot > slash + 1 ? `${file.slice(0, dot)}.${host}${file.slice(dot)}` : `${file}.${host}`;
}

/** Writes the files asked for; returns the paths written. */
export function writeOutputs(files: OutputFiles, result: SimResult, events: readonly Event[]): string[] {
  const written: string[] = [];
  if (files.report) {
    const data = buildReportData(result, events);
    writeTo(files.report, (write) => writeHtml(data, write));
    written.push(files.report);
  }
  if (files.trace) {
    writeTo(files.trace, (write) => writeChromeTrace(result, events, write));
    written.push(files.trace);
  }
  if (files.xentrace) {
    for (const h of result.hosts) {
      const f = xentraceFileFor(files.xentrace, h.id, result.hosts.length);
      writeFileSync(f, xentrace(result, events, h.id));
      written.push(f);
    }
  }
  return written;
}

/** Opens `file` and hands `produce` a function writing chunks of text to it (no whole text in memory). */
export function writeTo(file: string, produce: (write: (chunk: string) => void) => void): void {
  const fd = openSync(file, 'w');
  try {
    produce((chunk) => {
      writeSync(fd, chunk);
    });
  } finally {
    closeSync(fd);
  }
}
