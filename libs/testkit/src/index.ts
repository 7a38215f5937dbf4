// @vsim/testkit: what tests and benchmarks share, and production code never imports — where the
// repository's guests are, the ring32 kernel's builds from source, the two-host simulation the
// cluster tests run, a throwaway TLS certificate authority. The nats-server launcher for tests is
// @vsim/bus's (`vsim up` supervises its own, with the deployment's configuration).

export { GUEST_BIN, GUESTS_DIR, REPO_ROOT } from './guests';
export { RING32_KERNEL_SOURCE, buildRing32Kernel, preprocess as preprocessRing32 } from './ring32-kernel';
export type { Ring32KernelBuild } from './ring32-kernel';
export { twoHostSpec } from './specs';
export { runVsim } from './cli';
export type { CliRun } from './cli';
export { OPENSSL_MISSING, hasOpenssl, makeTestCa } from './tls';
export type { TestCa } from './tls';
export { seededRandom } from './random';
export { DRIVER_SLICE_NS, HostDriver, driverHostConfig, eventHash, localTrapHandlers } from './host-driver';
export { startServiceProcess, until } from './processes';
export type { ServiceProcess } from './processes';
export { startVsimUp } from './up';
export type { UpCluster } from './up';
export { buildRv32DebugGuest, hasCommand, hasRv32Gcc } from './debug-guest';
export { SyntheticHost } from './synthetic-host';
export type { SyntheticVcpuProfile } from './synthetic-host';
