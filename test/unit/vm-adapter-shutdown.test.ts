import { createVmAdapter } from '../../activities/vm/adapter';
import { parseDomstate } from '../../activities/vm/domain-status';
import type { Hypervisor } from '../../activities/vm/libvirt';
import type { LibvirtPool } from '../../activities/vm/pool';
import type { Virsh } from '../../activities/vm/virsh';

/**
 * Graceful shutdown's fallback, which libvirt's test driver cannot show (its guests
 * always obey): a fake hypervisor whose guest obeys after a number of polls, or never.
 */
function fakeHypervisor(obeyAfterPolls: number) {
  const calls: string[] = [];
  let state = 1; // running
  let polls = 0;
  let shutdownAsked = false;
  const conn = {
    domainLookupByName: async () => ({}),
    domainGetInfo: async () => {
      if (shutdownAsked && ++polls > obeyAfterPolls) state = 5;
      return { state, maxMem: 262144, memory: 262144, nrVirtCpu: 1, cpuTime: 0 };
    },
    domainGetName: async () => 'web-1',
    domainGetUUIDString: async () => '6f1b2c8e-4a4e-4f7e-9a43-2b6f0b6a1c11',
    domainShutdown: async () => {
      calls.push('shutdown');
      shutdownAsked = true;
    },
    domainDestroy: async () => {
      calls.push('destroy');
      state = 5;
    },
  };
  const pool: LibvirtPool = {
    use: (fn) => fn(conn as unknown as Hypervisor),
    stats: () => {
      throw new Error('not used');
    },
    drain: async () => undefined,
  };
  const virsh: Virsh = { run: async () => '' };
  const sleeps: number[] = [];
  const adapter = createVmAdapter({ pool, virsh, sleep: async (ms) => void sleeps.push(ms) });
  return { adapter, calls, sleeps };
}

describe('adapter shutdown', () => {
  it('waits for a guest that obeys, polling at the given interval, and never destroys it', async () => {
    const f = fakeHypervisor(3);
    const waits: number[] = [];
    expect(await f.adapter.shutdown('web-1', { timeoutMs: 60_000, pollMs: 100, onWait: () => waits.push(1) })).toEqual({
      forced: false,
    });
    expect(f.calls).toEqual(['shutdown']);
    expect(f.sleeps.length).toBeGreaterThanOrEqual(2);
    expect(f.sleeps.every((ms) => ms === 100)).toBe(true);
    expect(waits).toHaveLength(f.sleeps.length);
  });

  it('destroys a guest that ignores the request once the timeout has passed', async () => {
    const f = fakeHypervisor(Infinity);
    expect(await f.adapter.shutdown('web-1', { timeoutMs: 0 })).toEqual({ forced: true });
    expect(f.calls).toEqual(['shutdown', 'destroy']);
  });

  it('asks nothing of a guest that is already off', async () => {
    const f = fakeHypervisor(0);
    await f.adapter.destroy('web-1');
    expect(await f.adapter.shutdown('web-1', { timeoutMs: 0 })).toEqual({ forced: false });
    expect(f.calls).toEqual(['destroy']);
  });
});

describe('virsh domstate output', () => {
  it.each([
    ['shut off (destroyed)', { state: 'shutoff', reason: 'destroyed' }],
    ['shut off (shutdown)', { state: 'shutoff', reason: 'shutdown' }],
    ['running (booted)', { state: 'running', reason: 'booted' }],
    ['paused (user)', { state: 'paused', reason: 'user' }],
    ['in shutdown', { state: 'shutdown', reason: 'unknown' }],
    ['running (from snapshot)\n', { state: 'running', reason: 'from snapshot' }],
  ])('reads %j', (out, expected) => {
    expect(parseDomstate(out)).toEqual(expected);
  });

  it('refuses what it cannot read rather than guess', () => {
    expect(() => parseDomstate('exploded')).toThrow(/cannot read/);
  });
});
