// Run-time scheduling parameters in the scheduler service, before anything runs: bad values are
// refused at once with the parameter named, `xl`'s policy check follows cpupools (a VM in an RTDS
// pool is scheduled by rtds, whatever the host's default scheduler), unknown VMs are NOT_FOUND,
// and GetSchedParams shows what was set as soon as it was set.

import { InProcessBroker } from '@vsim/bus';
import { NotFoundError, SchedulerService, schedulerOf } from '../src/service';

function service(): SchedulerService {
  const svc = new SchedulerService(new InProcessBroker().connect(), 't');
  // Host h0: 4 pCPUs, Credit by default, pCPUs 2-3 an RTDS pool.
  svc.addHost(
    'h0',
    4,
    {
      policy: 'cpupools',
      params: { default: { policy: 'credit', params: {} }, pools: [{ id: 'rt', pcpus: [2, 3], scheduler: { policy: 'rtds', params: {} } }] },
    },
    'n0',
  );
  svc.addVm('h0', { id: 'web', vcpus: 2, sched: { weight: 256 } });
  svc.addVm('h0', { id: 'ctl', vcpus: 1, sched: { pool: 'rt', budget: 2e6, period: 10e6 } });
  return svc;
}

describe('run-time scheduling parameters (SchedulerService)', () => {
  it('names the scheduler of each VM on a host split into cpupools', () => {
    const spec = {
      policy: 'cpupools',
      params: { default: { policy: 'credit', params: {} }, pools: [{ id: 'rt', pcpus: [2], scheduler: { policy: 'rtds', params: {} } }] },
    };
    expect(schedulerOf(spec)).toBe('credit');
    expect(schedulerOf(spec, { pool: 'rt' })).toBe('rtds');
    expect(schedulerOf({ policy: 'sedf', params: {} }, { pool: 'rt' })).toBe('sedf');
  });

  it('checks the policy the VM is scheduled by, and the values, before accepting a call', () => {
    const svc = service();
    svc.setVmParams('web', { weight: 512, cap: 50 }, 'credit');
    svc.setVmParams('ctl', { budget: 4e6 }, 'rtds');
    expect(() => svc.setVmParams('ctl', { weight: 512 }, 'credit')).toThrow('VM ctl is scheduled by rtds, not credit');
    expect(() => svc.setVmParams('web', { weight: 70000 }, 'credit')).toThrow(/weight/);
    expect(() => svc.setVmParams('ctl', { budget: 20e6 }, 'rtds')).toThrow(/budget/);
    expect(() => svc.setVmParams('ghost', { weight: 1 })).toThrow(NotFoundError);
    // Scheduler-wide: the default pool's scheduler (xl sched-credit -s without -p).
    svc.setSchedulerParams({ tslice: 10e6, ratelimit: 500e3 }, 'credit');
    expect(() => svc.setSchedulerParams({ tslice: 5e9 }, 'credit')).toThrow(/tslice must be 1ms–1s/);
    expect(() => svc.setSchedulerParams({ ratelimit: 1e6 }, 'rtds')).toThrow('host h0 runs credit, not rtds');
    // What was set shows at once (the loop applies it at its next decision).
    const p = svc.schedParams();
    expect(p.vms.find((v) => v.vm === 'web')!.params).toEqual({ weight: 512, cap: 50 });
    expect(p.vms.find((v) => v.vm === 'ctl')!.params).toEqual({ pool: 'rt', budget: 4e6, period: 10e6 });
    // On a split host they belong to the default pool's scheduler.
    expect(p.hosts[0].params).toMatchObject({ default: { policy: 'credit', params: { tslice: 10e6, ratelimit: 500e3 } } });
    expect(p.hosts[0].params).not.toHaveProperty('tslice');
  });
});
