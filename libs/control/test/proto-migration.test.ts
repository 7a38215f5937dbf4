// The migration and balancer converters (proto-migration.ts): a migration's link and rule and the
// balancer with its network survive domain -> message -> wire -> message -> domain unchanged; a
// message missing a field or holding one out of range is refused with that field named; the
// gateway's overrides and the HTTP body fill in and check what they must.

import { AddActionRequest, MigrateVmRequest } from '@vsim/proto';
import {
  balancerMessage,
  balancerParamsOf,
  migrationMessage,
  migrationOverridesOfPlain,
  migrationParamsOf,
  withScenarioLink,
} from '../src/proto-migration';
import { BalancerParams, DEFAULT_NETWORK, MigrationParams, NetworkSpec } from '../src/migration/params';

const MS = 1_000_000;

/** Through the wire, as the requests that carry them: what the other end of a gRPC call decodes. */
function wireAction(m: Partial<AddActionRequest>): AddActionRequest {
  return AddActionRequest.decode(AddActionRequest.encode(AddActionRequest.fromPartial(m)).finish());
}
function wireMigrate(m: Partial<MigrateVmRequest>): MigrateVmRequest {
  return MigrateVmRequest.decode(MigrateVmRequest.encode(MigrateVmRequest.fromPartial(m)).finish());
}

describe('MigrationParams converter', () => {
  it.each<[string, MigrationParams]>([
    ['a full rule', { link: { bandwidthBytesPerSec: 64 << 20, latencyNs: 100_000 }, rule: { stopPages: 10, maxRounds: 5 } }],
    ['no rule', { link: { bandwidthBytesPerSec: 1, latencyNs: 0 }, rule: {} }],
    ['stop_pages 0 only', { link: { bandwidthBytesPerSec: 2 ** 40, latencyNs: 7 }, rule: { stopPages: 0 } }],
    ['max_rounds only', { link: { bandwidthBytesPerSec: 128 << 20, latencyNs: 50_000 }, rule: { maxRounds: 1 } }],
  ])('round-trips %s through AddAction and MigrateVm', (_name, p) => {
    expect(migrationParamsOf(wireAction({ migration: migrationMessage(p) }).migration, 'migration')).toEqual(p);
    expect(migrationParamsOf(wireMigrate({ params: migrationMessage(p) }).params, 'params')).toEqual(p);
  });

  it.each([
    ['absent', undefined, 'migration is required'],
    ['no link', { link: undefined, rule: {} }, 'migration.link is required'],
    ['no bandwidth', { link: { latencyNs: 5 }, rule: {} }, 'migration.link.bandwidth_bytes_per_s is required'],
    ['no latency', { link: { bandwidthBytesPerS: 5 }, rule: {} }, 'migration.link.latency_ns is required'],
    [
      'zero bandwidth',
      { link: { bandwidthBytesPerS: 0, latencyNs: 5 }, rule: {} },
      'migration.link.bandwidth_bytes_per_s must be an integer ≥ 1, got 0',
    ],
    [
      'fractional latency',
      { link: { bandwidthBytesPerS: 9, latencyNs: 1.5 }, rule: {} },
      'migration.link.latency_ns must be an integer ≥ 0, got 1.5',
    ],
    [
      'max_rounds 0',
      { link: { bandwidthBytesPerS: 9, latencyNs: 1 }, rule: { maxRounds: 0 } },
      'migration.rule.max_rounds must be an integer ≥ 1, got 0',
    ],
    [
      'negative stop_pages',
      { link: { bandwidthBytesPerS: 9, latencyNs: 1 }, rule: { stopPages: -1 } },
      'migration.rule.stop_pages must be an integer ≥ 0, got -1',
    ],
  ])('refuses %s, naming the field', (_name, m, message) => {
    expect(() => migrationParamsOf(m as never, 'migration')).toThrow(new RangeError(message));
  });

  it('refuses max_rounds 0 that crossed the wire (explicit presence of an optional field)', () => {
    const m = wireMigrate({ params: { link: { bandwidthBytesPerS: 9, latencyNs: 1 }, rule: { maxRounds: 0 } } });
    expect(() => migrationParamsOf(m.params, 'params')).toThrow('params.rule.max_rounds must be an integer ≥ 1, got 0');
  });
});

describe("the gateway's MigrateVm overrides", () => {
  const scenario = { bandwidthBytesPerSec: 64 << 20, latencyNs: 100_000 };

  it('takes the scenario link for every field not given, and the rule as given', () => {
    expect(migrationParamsOf(withScenarioLink(undefined, scenario), 'params')).toEqual({ link: scenario, rule: {} });
    expect(migrationParamsOf(withScenarioLink({ link: { latencyNs: 3 }, rule: { maxRounds: 4 } }, scenario), 'params')).toEqual({
      link: { bandwidthBytesPerSec: 64 << 20, latencyNs: 3 },
      rule: { maxRounds: 4 },
    });
    expect(
      migrationParamsOf(withScenarioLink(wireMigrate({ params: { link: { bandwidthBytesPerS: 10 }, rule: undefined } }).params, scenario), 'params')
        .link,
    ).toEqual({
      bandwidthBytesPerSec: 10,
      latencyNs: 100_000,
    });
  });

  it('reads the HTTP body into overrides, refusing an unknown key or a value the message cannot hold', () => {
    expect(migrationParamsOf(withScenarioLink(migrationOverridesOfPlain({ bandwidth: 5, stopPages: 3 }, 'body'), scenario), 'params')).toEqual({
      link: { bandwidthBytesPerSec: 5, latencyNs: 100_000 },
      rule: { stopPages: 3 },
    });
    expect(migrationOverridesOfPlain({}, 'body')).toEqual({ link: undefined, rule: { stopPages: undefined, maxRounds: undefined } });
    expect(() => migrationOverridesOfPlain({ rounds: 3 }, 'body')).toThrow('body.rounds: unknown field (bandwidth, latencyNs, stopPages, maxRounds)');
    expect(() => migrationOverridesOfPlain({ maxRounds: -1 }, 'body')).toThrow('body.maxRounds must be an integer from 0 to 4294967295, got -1');
    expect(() => migrationOverridesOfPlain({ stopPages: 2 ** 32 }, 'body')).toThrow('body.stopPages must be an integer from 0 to 4294967295');
    expect(() => migrationOverridesOfPlain({ latencyNs: '5' }, 'body')).toThrow('body.latencyNs must be an integer from 0 to');
  });
});

describe('BalancerParams converter', () => {
  const network: NetworkSpec = {
    bandwidth: 128 << 20,
    latency: 50_000,
    links: [
      { from: 'h0', to: 'h1', bandwidth: 64 << 20, latency: 100_000 },
      { from: 'h1', to: 'h0', bandwidth: 1, latency: 0 },
    ],
  };

  it.each<[string, BalancerParams, NetworkSpec | undefined, NetworkSpec]>([
    ['a network with links and a full rule', { periodNs: 10 * MS, threshold: 0.25, stopPages: 10, maxRounds: 5 }, network, network],
    ['the default network, no rule', { periodNs: 1, threshold: 3.5 }, undefined, DEFAULT_NETWORK],
  ])('round-trips %s', (_name, b, n, expected) => {
    expect(balancerParamsOf(wireAction({ balancer: balancerMessage(b, n) }).balancer, 'balancer')).toEqual({ ...b, network: expected });
  });

  const good = balancerMessage({ periodNs: 10 * MS, threshold: 0.25 }, network);
  it.each([
    ['absent', undefined, 'balancer is required'],
    ['period_ns 0', { ...good, periodNs: 0 }, 'balancer.period_ns must be an integer ≥ 1, got 0'],
    ['threshold 0', { ...good, threshold: 0 }, 'balancer.threshold must be a positive number, got 0'],
    ['no network', { ...good, network: undefined }, 'balancer.network is required'],
    ['no default link', { ...good, network: { ...good.network!, defaultLink: undefined } }, 'balancer.network.default_link is required'],
    [
      'a link override without bandwidth',
      { ...good, network: { ...good.network!, links: [good.network!.links[0]!, { from: 'h1', to: 'h0', link: { latencyNs: 1 } }] } },
      'balancer.network.links[1].link.bandwidth_bytes_per_s is required',
    ],
    [
      'a link override without hosts',
      { ...good, network: { ...good.network!, links: [{ from: '', to: 'h0', link: { bandwidthBytesPerS: 1, latencyNs: 1 } }] } },
      'balancer.network.links[0]: from and to must be host ids',
    ],
    ['max_rounds 0', { ...good, rule: { maxRounds: 0 } }, 'balancer.rule.max_rounds must be an integer ≥ 1, got 0'],
  ])('refuses %s, naming the field', (_name, m, message) => {
    expect(() => balancerParamsOf(m as never, 'balancer')).toThrow(new RangeError(message));
  });
});
