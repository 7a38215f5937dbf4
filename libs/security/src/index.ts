// @vsim/security: who may do what in a vsim deployment (architecture §12) — NATS identities and
// their subject permissions, the tokens of the control and API calls, TLS, the secrets a
// deployment is generated with, and the checks every inbound data-plane message passes.
export { newToken, tokenHash, bearerToken, TokenSet } from './tokens';
export { CHECKPOINT_BUCKET, ROLES, STATE_BUCKET, SERVICE_NAME, SUBJECT_TOKEN, inboxPrefixOf, permissionsOf } from './permissions';
export type { Role, SubjectPermissions } from './permissions';
export { IdentityError, parseIdentity, readIdentity } from './identity';
export type { Identity, IdentityFile, TlsFiles } from './identity';
export { natsServerConfig } from './nats-config';
export type { NatsConfigOptions, NatsUser } from './nats-config';
export { IDENTITY, existingSecrets, generateSecrets, instanceIdentities, writeNatsConfig } from './generate';
export type { DeploymentSecrets, DeploymentSecretsSpec, NatsConfigPlacement } from './generate';
export { bearerMetadata, guardService, principalOf, tlsChannelCredentials, tlsServerCredentials } from './grpc-auth';
export type { RefusedCall } from './grpc-auth';
export { natsConnectionOptions } from './nats-auth';
export type { NatsIdentityOptions } from './nats-auth';
export { RefusalCounter, RefusedMessage, ReplyCache, SequenceWindow, countRefusal, isRefusedMessage, refuse } from './inbound';
export type { Refusal, RefusalKind, RefusalLogger, SequenceVerdict } from './inbound';
export { NatsViolationCounter, parseNatsViolation } from './nats-audit';
export type { NatsViolation, NatsViolationKind } from './nats-audit';
