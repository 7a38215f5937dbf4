// nats-server refuses, logs and moves on: an unauthenticated connection ("authentication error"),
// a publish or a subscription outside a user's permissions ("Publish Violation", "Subscription
// Violation"). It keeps no counter of them, so whoever keeps its log (vsim up) counts them here,
// line by line, naming the identity by its nkey. Formats of nats-server 2.9 (server/client.go).

export type NatsViolationKind = 'authentication' | 'publish' | 'subscribe';

export interface NatsViolation {
  readonly kind: NatsViolationKind;
  /** The user's public nkey ('' when the connection offered none). */
  readonly nkey: string;
  /** The subject refused (publish, subscribe). */
  readonly subject?: string;
  /** The connection as the server names it: `"<version>:<lang>[:<name>]"`. */
  readonly client?: string;
}

const LINE =
  /\[ERR\] \S+ - cid:\d+ - (?:"([^"]*)" - )?(Publish Violation|Subscription Violation|authentication error|Authorization Violation)(?: - (?:Nkey|User) "([^"]*)")?(?:, Subject "([^"]*)")?/;

export function parseNatsViolation(line: string): NatsViolation | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, client, what, nkey = '', subject] = m;
  const kind: NatsViolationKind = what === 'Publish Violation' ? 'publish' : what === 'Subscription Violation' ? 'subscribe' : 'authentication';
  return { kind, nkey, ...(subject !== undefined ? { subject } : {}), ...(client !== undefined ? { client } : {}) };
}

/** Counts violations by kind and by identity (named through `identityOf`, else by nkey). */
export class NatsViolationCounter {
  readonly byKind: Record<NatsViolationKind, number> = { authentication: 0, publish: 0, subscribe: 0 };
  readonly byIdentity = new Map<string, number>();

  constructor(private readonly identityOf: (nkey: string) => string | undefined = () => undefined) {}

  get total(): number {
    return this.byKind.authentication + this.byKind.publish + this.byKind.subscribe;
  }

  /** Counts `line` if it reports a violation; returns it (with the identity name) or undefined. */
  add(line: string): (NatsViolation & { identity: string }) | undefined {
    const v = parseNatsViolation(line);
    if (!v) return undefined;
    const identity = v.nkey === '' ? 'anonymous' : (this.identityOf(v.nkey) ?? v.nkey);
    this.byKind[v.kind]++;
    this.byIdentity.set(identity, (this.byIdentity.get(identity) ?? 0) + 1);
    return { ...v, identity };
  }
}
