// ScenarioError: every problem of a scenario at once, each naming the path at fault.

import type { ScenarioIssue } from './fields';
import { oneLine } from './units';

export type { ScenarioIssue };

/** One line per issue: `<file>: <path>: <message>` (the file part is left out when there is no file). */
export function formatIssues(issues: readonly ScenarioIssue[], file?: string): string {
  return issues
    .map((i) => [file === undefined ? undefined : oneLine(file), i.path, i.message].filter((part) => part !== undefined && part !== '').join(': '))
    .join('\n');
}

/** A scenario that cannot be used, with all its problems (never just the first). */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly issues: readonly ScenarioIssue[],
    /** The scenario file as the caller named it, used in the message. */
    readonly file?: string,
  ) {
    super(formatIssues(issues, file));
  }
}
