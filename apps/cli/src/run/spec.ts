// From a validated scenario to the runtime's SimSpec (the mapping lives in @vsim/control, shared
// with the gateway).

export { simSpecFromScenario as toSimSpec } from '@vsim/control';
