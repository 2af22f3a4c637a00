import type { DesiredState } from '../../lib/vm/contract';
import { reconcile, type ReconcileInput } from '../../lib/vm/reconcile';
import type { ObservedState } from '../../lib/vm/states';

const decide = (
  runStrategy: ReconcileInput['runStrategy'],
  desired: DesiredState,
  observed: ObservedState,
  reason?: string,
) => reconcile({ runStrategy, desired, observed, reason });

describe('reconcile', () => {
  describe('Always', () => {
    it('does nothing while the machine runs', () => {
      expect(decide('Always', 'running', 'running')).toEqual({ steps: [], why: 'running as it should' });
      expect(decide('Always', 'running', 'blocked').steps).toEqual([]);
    });

    it.each(['destroyed', 'shutdown', 'crashed', undefined])('starts a machine that stopped (%s) again', (reason) => {
      const d = decide('Always', 'running', 'shutoff', reason);
      expect(d.steps).toEqual(['start']);
      expect(d.drift).toBe(`expected running, libvirt reports shutoff${reason ? ` (${reason})` : ''}`);
      expect(d.desired).toBeUndefined();
    });

    it('destroys a preserved crash before starting', () => {
      expect(decide('Always', 'running', 'crashed').steps).toEqual(['destroy', 'start']);
    });

    it('defines and starts a domain that vanished', () => {
      expect(decide('Always', 'running', 'absent').steps).toEqual(['define', 'start']);
    });

    it('resumes a machine paused behind its back but respects a user pause', () => {
      expect(decide('Always', 'running', 'paused').steps).toEqual(['resume']);
      expect(decide('Always', 'paused', 'paused')).toEqual({ steps: [], why: 'paused by the user' });
    });

    it('waits for a shutdown in progress rather than fight it', () => {
      expect(decide('Always', 'running', 'shutdown').steps).toEqual([]);
    });
  });

  describe('RerunOnFailure', () => {
    it.each(['destroyed', 'crashed', 'failed', undefined])('restarts a machine that failed (%s)', (reason) => {
      expect(decide('RerunOnFailure', 'running', 'shutoff', reason).steps).toEqual(['start']);
    });

    it('leaves down a guest that shut itself down, and marks the run complete', () => {
      const d = decide('RerunOnFailure', 'running', 'shutoff', 'shutdown');
      expect(d.steps).toEqual([]);
      expect(d.desired).toBe('stopped');
      expect(d.drift).toBeDefined();
    });

    it('stops a machine started behind the back of a stopped one', () => {
      expect(decide('RerunOnFailure', 'stopped', 'running').steps).toEqual(['shutdown']);
    });

    it('defines a vanished domain again, shut off when it should be stopped', () => {
      expect(decide('RerunOnFailure', 'stopped', 'absent').steps).toEqual(['define']);
      expect(decide('RerunOnFailure', 'running', 'absent').steps).toEqual(['define', 'start']);
    });
  });

  describe('Manual', () => {
    it.each<[DesiredState, ObservedState]>([
      ['running', 'shutoff'],
      ['running', 'absent'],
      ['stopped', 'running'],
      ['running', 'paused'],
    ])('reports desired %s but observed %s, and does nothing', (desired, observed) => {
      const d = decide('Manual', desired, observed);
      expect(d.steps).toEqual([]);
      expect(d.drift).toMatch(new RegExp(`libvirt reports ${observed}`));
    });

    it('reports no drift when libvirt agrees', () => {
      expect(decide('Manual', 'stopped', 'shutoff').drift).toBeUndefined();
      expect(decide('Manual', 'running', 'running').drift).toBeUndefined();
    });
  });

  describe('Halted', () => {
    it('shuts a running machine down, whatever was asked before', () => {
      expect(decide('Halted', 'running', 'running').steps).toEqual(['shutdown']);
      expect(decide('Halted', 'stopped', 'blocked').steps).toEqual(['shutdown']);
    });

    it('destroys what cannot answer a shutdown request', () => {
      expect(decide('Halted', 'stopped', 'paused').steps).toEqual(['destroy']);
      expect(decide('Halted', 'stopped', 'pmsuspended').steps).toEqual(['destroy']);
    });

    it('leaves a stopped machine and a shutdown in progress alone', () => {
      expect(decide('Halted', 'stopped', 'shutoff')).toEqual({ steps: [], why: 'stopped as it should' });
      expect(decide('Halted', 'stopped', 'shutdown').steps).toEqual([]);
    });
  });

  it('reports, never destroys, the domain of a deleted machine', () => {
    const d = decide('Always', 'deleted', 'running');
    expect(d.steps).toEqual([]);
    expect(d.drift).toBe('machine is deleted but its domain is running');
    expect(decide('Always', 'deleted', 'absent').drift).toBeUndefined();
  });
});

describe('reconcile that converges (runs started with the converge patch)', () => {
  const converge = (runStrategy: ReconcileInput['runStrategy'], desired: DesiredState, recorded?: ObservedState) =>
    reconcile({ runStrategy, desired, observed: 'absent', converge: true, recorded });

  it.each(['Always', 'RerunOnFailure'] as const)(
    'brings back a machine the user paused, %s, whose domain is gone: define, start, pause',
    (strategy) => {
      const d = converge(strategy, 'paused');
      expect(d.steps).toEqual(['define', 'start', 'suspend']);
      expect(d.drift).toBe('domain is missing');
      // Before the patch the same machine was only reported, every pass, and never came back.
      expect(reconcile({ runStrategy: strategy, desired: 'paused', observed: 'absent' }).steps).toEqual([]);
    },
  );

  it.each(['stopped', 'running', 'paused'] as const)(
    'records a Manual machine (%s) whose domain is gone as absent once, then leaves it to the user',
    (desired) => {
      const first = converge('Manual', desired, 'shutoff');
      expect(first).toMatchObject({ drift: 'domain is missing', steps: [] });
      expect(converge('Manual', desired, 'absent')).toEqual({
        steps: [],
        why: 'Manual: recorded absent, left to the user',
      });
    },
  );

  it('before the patch, a Manual shut-off machine with no domain was called no drift at all', () => {
    expect(reconcile({ runStrategy: 'Manual', desired: 'stopped', observed: 'absent' }).drift).toBeUndefined();
  });

  it('decides every other case as before', () => {
    expect(converge('Always', 'running')).toEqual(decide('Always', 'running', 'absent'));
    expect(converge('Halted', 'paused')).toEqual(decide('Halted', 'paused', 'absent'));
    expect(converge('RerunOnFailure', 'stopped')).toEqual(decide('RerunOnFailure', 'stopped', 'absent'));
    expect(reconcile({ runStrategy: 'Always', desired: 'deleted', observed: 'absent', converge: true })).toEqual(
      decide('Always', 'deleted', 'absent'),
    );
  });
});
