// A handed-over host (Handover/Adopt between scheduler services) to and from its HostHandover
// message (control.proto): the loop's state, pending actions and per-vCPU figures, typed at the edge.
// A checkpoint's manifest (checkpoint.proto) holds the same message.

import { HostHandover as HostHandoverMsg } from '@vsim/proto';
import type { PlainLoopAction } from './host-loop';
import type { HostHandover } from './service';
import { vmSchedMessage, vmSchedParamsOf } from './proto-sched';
import { loopStateMessage, loopStateOf, vcpuFiguresMessage, vcpuFiguresOf } from './loop-state-proto';
import { schedulerMessage, schedulerSpecOf, schedulerUpdateMessage } from './proto-scheduler';

/** A handed-over host as HostHandover (control.proto); the policy's own state travels as its JSON (loop-state-proto.ts). */
export function hostHandoverOf(sim: string, h: HostHandover): HostHandoverMsg {
  const s = h.state;
  return {
    host: h.host,
    node: h.node,
    pcpus: h.pcpus,
    nowNs: s.nowNs,
    seq: s.seq,
    eventSeq: s.eventSeq,
    eventsPublished: h.eventsPublished,
    vcpus: s.vcpus.map((v) => ({
      vm: v.vm,
      vcpu: v.vcpu,
      state: v.stats.state,
      wakeNs: v.wakeNs,
      paused: v.paused,
      params: vmSchedMessage(v.params),
      runningNs: v.stats.runningNs,
      waitingNs: v.stats.waitingNs,
      blockedNs: v.stats.blockedNs,
      instructions: v.stats.instructions,
      figures: vcpuFiguresMessage(v.stats, v.marks),
    })),
    actions: s.actions.map((a) => ({
      sim,
      atNs: a.at,
      kind: a.kind,
      vm: 'vm' in a ? a.vm : '',
      host: a.kind === 'killHost' ? h.host : '',
      vmParams: a.kind === 'set' ? vmSchedMessage(a.params) : undefined,
      scheduler:
        a.kind === 'swapScheduler'
          ? schedulerMessage({ policy: a.policy, params: a.params ?? {} })
          : a.kind === 'setScheduler'
            ? schedulerUpdateMessage(a.params)
            : undefined,
      // A loop's pending actions are never migrations (the service's Migrations hold those) nor the balancer.
      migration: undefined,
      balancer: undefined,
    })),
    loop: loopStateMessage(s),
  };
}

/**
 * HostHandover (control.proto) back to a host's state; another implementation may leave `figures`
 * and `loop` out. RangeError naming the field at fault; VM ids are the caller's to check.
 */
export function hostHandoverFrom(m: HostHandoverMsg): HostHandover {
  const vcpus = m.vcpus.map((v) => {
    const { stats, marks } = vcpuFiguresOf(v.figures, {
      runningNs: v.runningNs,
      waitingNs: v.waitingNs,
      blockedNs: v.blockedNs,
      instructions: v.instructions,
      state: v.state,
    });
    return {
      vm: v.vm,
      vcpu: v.vcpu,
      wakeNs: v.wakeNs,
      paused: v.paused,
      params: vmSchedParamsOf(v.params),
      stats,
      marks,
    };
  });
  const actions = m.actions.map((a): PlainLoopAction => {
    const at = `host ${m.host}: actions[${a.kind}@${a.atNs}]`;
    switch (a.kind) {
      case 'pause':
      case 'unpause':
        return { kind: a.kind, at: a.atNs, vm: a.vm };
      case 'set':
        return { kind: 'set', at: a.atNs, vm: a.vm, params: vmSchedParamsOf(a.vmParams) };
      case 'setScheduler':
        return { kind: 'setScheduler', at: a.atNs, params: schedulerSpecOf(a.scheduler, `${at}.scheduler`).params };
      case 'swapScheduler': {
        const spec = schedulerSpecOf(a.scheduler, `${at}.scheduler`);
        return { kind: 'swapScheduler', at: a.atNs, policy: spec.policy, params: spec.params };
      }
      case 'killHost':
        return { kind: 'killHost', at: a.atNs };
      default:
        throw new RangeError(`host ${m.host}: unknown pending action kind ${JSON.stringify(a.kind)}`);
    }
  });
  return {
    host: m.host,
    node: m.node,
    pcpus: m.pcpus,
    eventsPublished: m.eventsPublished,
    state: { nowNs: m.nowNs, seq: m.seq, eventSeq: m.eventSeq, vcpus, actions, ...loopStateOf(m.host, m.pcpus, m.loop) },
  };
}
