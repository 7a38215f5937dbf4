// The table `npm run test:faults` prints: fault → runs → completed → hash identical to undisturbed →
// events lost / duplicated (issue 11), one row per fault a test inflicted.

export interface FaultRow {
  fault: string;
  runs: number;
  completed: number;
  /** 'yes', 'NO', '-' (no result), or how many of several runs matched. */
  hashIdentical: string;
  /** `lost / duplicated`, and whatever else the row measured. */
  events: string;
}

/** The rows as an aligned text table (with a leading blank line). */
export function faultTable(rows: readonly FaultRow[]): string {
  const head = ['fault', 'runs', 'completed', 'hash identical', 'events lost / duplicated'];
  const cells = rows.map((r) => [r.fault, String(r.runs), String(r.completed), r.hashIdentical, r.events]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(width[i]))
      .join('  ')
      .trimEnd();
  return ['', line(head), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
