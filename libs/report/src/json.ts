// Event details that carry JSON (`run`: {latencyNs, credit, budget}; `set`: parameters;
// `swap-scheduler`: {policy, ...}): read leniently, since a detail from another scheduler may be
// free text.

/** The detail as a JSON object, or {} if it is empty or not one. */
export function jsonObject(text: string): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
