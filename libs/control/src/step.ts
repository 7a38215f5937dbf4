// One step of setting a simulation up (Coordinator, resume), named in the error if it fails.

/** Runs one setup step, naming it in the error if it fails. */
export async function step<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const e = new Error(`${what}: ${(err as Error).message}`, { cause: err });
    throw e;
  }
}
