import { operationNames, type OperationName } from '../../lib/vm/contract';
import { observedStates, stateFromLibvirt, type ObservedState } from '../../lib/vm/states';
import { allowedOperations, canApply } from '../../lib/vm/transitions';

describe('transitions', () => {
  it('maps libvirt state numbers to names', () => {
    // virDomainState's numbers, from libvirt's headers; an unknown number reads as nostate.
    const libvirt = { 0: 'nostate', 1: 'running', 2: 'blocked', 3: 'paused', 4: 'shutdown', 5: 'shutoff' } as const;
    const more = { 6: 'crashed', 7: 'pmsuspended', 99: 'nostate' } as const;
    const expected: Record<string, ObservedState> = { ...libvirt, ...more };
    const seen = Object.fromEntries(Object.keys(expected).map((n) => [n, stateFromLibvirt(Number(n))]));
    expect(seen).toEqual(expected);
  });

  // The whole table, written out: a changed rule shows up here as a one-cell diff.
  const table: Record<ObservedState, OperationName[]> = {
    running: ['shutdown', 'destroy', 'reboot', 'suspend', 'snapshot', 'revert', 'resize', 'delete'],
    blocked: ['shutdown', 'destroy', 'reboot', 'suspend', 'snapshot', 'revert', 'resize', 'delete'],
    paused: ['destroy', 'resume', 'snapshot', 'revert', 'delete'],
    shutdown: ['destroy', 'delete'],
    shutoff: ['start', 'snapshot', 'revert', 'resize', 'delete'],
    crashed: ['start', 'destroy', 'revert', 'delete'],
    pmsuspended: ['destroy', 'resume', 'snapshot', 'revert', 'delete'],
    nostate: ['start', 'snapshot', 'revert', 'delete'],
    absent: ['delete'],
  };

  it.each(observedStates)('allows from %s exactly the operations of the table', (state) => {
    expect(allowedOperations(state, operationNames)).toEqual(table[state]);
  });

  it('names the target state of each allowed operation', () => {
    expect(canApply('start', 'shutoff')).toEqual({ ok: true, target: 'running' });
    expect(canApply('shutdown', 'running')).toEqual({ ok: true, target: 'shutoff' });
    expect(canApply('suspend', 'running')).toEqual({ ok: true, target: 'paused' });
    expect(canApply('resume', 'paused')).toEqual({ ok: true, target: 'running' });
    expect(canApply('destroy', 'paused')).toEqual({ ok: true, target: 'shutoff' });
    expect(canApply('delete', 'running')).toEqual({ ok: true, target: 'absent' });
    expect(canApply('snapshot', 'running')).toEqual({ ok: true, target: 'unchanged' });
  });

  it.each<[OperationName, ObservedState, string]>([
    ['resume', 'running', 'resume needs a paused machine; it is running'],
    ['start', 'paused', 'start needs a machine that is shut off; it is paused (use resume)'],
    ['shutdown', 'paused', 'shutdown needs a running machine; it is paused (resume it first, or destroy it)'],
    ['reboot', 'absent', 'reboot needs a defined machine; it is not defined in libvirt'],
  ])('refuses %s from %s with a reason a user can act on', (op, state, reason) => {
    expect(canApply(op, state)).toEqual({ ok: false, reason });
  });

  it('refuses a revert to a snapshot the machine does not have, listing those it has', () => {
    expect(canApply('revert', 'running', { snapshot: 'nope', snapshots: ['a', 'b'] })).toEqual({
      ok: false,
      reason: 'revert needs an existing snapshot; "nope" is not one (snapshots: a, b)',
    });
    expect(canApply('revert', 'running', { snapshot: 'b', snapshots: ['a', 'b'] }).ok).toBe(true);
    expect(canApply('revert', 'shutoff', { snapshot: 'a', snapshots: [] })).toMatchObject({
      reason: expect.stringMatching(/snapshots: none/),
    });
  });
});
