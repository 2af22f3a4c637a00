import type { DesiredState } from './contract';
import { isRunningState, type ObservedState, type StateReason } from './states';
import type { RunStrategy } from './validate';

/**
 * What to do when libvirt disagrees with what a machine should be. The run strategies
 * follow KubeVirt's VirtualMachine `spec.runStrategy`:
 * - Always: the machine should always run; whatever stopped it, start it again.
 * - RerunOnFailure: start it again only if it failed; a guest that shut itself down
 *   finished its run, and stays down (its desired state becomes stopped).
 * - Manual: nothing is done automatically; drift is only reported.
 * - Halted: the machine should never run; stop it if it does.
 * A user's pause is respected by every strategy (KubeVirt does not unpause either).
 */

/** The patch that marks runs deciding with `converge`: older runs replay the decisions they made. */
export const convergePatch = 'vm-reconcile-converges';

export type CorrectiveStep = 'define' | 'start' | 'resume' | 'suspend' | 'shutdown' | 'destroy';

export interface ReconcileInput {
  runStrategy: RunStrategy;
  desired: DesiredState;
  observed: ObservedState;
  reason?: StateReason;
  /**
   * Decide so that records and libvirt agree after one correction (runs recorded before
   * this rule decide as they did, so their histories replay): a missing domain is
   * redefined, or recorded absent once under Manual, whatever state the user left it in.
   */
  converge?: boolean;
  /** What the machine's record last said libvirt reported; with `converge`, a Manual machine recorded absent is settled. */
  recorded?: ObservedState;
}

export interface ReconcileDecision {
  /** A sentence for the event log; undefined when libvirt agrees with the machine. */
  drift?: string;
  /** What to run, in order; empty when nothing should be done. */
  steps: CorrectiveStep[];
  /** Set when the machine's desired state should change to match what happened (a finished run). */
  desired?: DesiredState;
  why: string;
}

const agree = (why: string): ReconcileDecision => ({ steps: [], why });

/** Whether a shut-off domain stopped on its own account rather than failing or being killed. */
const completed = (reason?: StateReason) => reason === 'shutdown';

export function reconcile(input: ReconcileInput): ReconcileDecision {
  const { runStrategy, desired, observed, reason } = input;
  const lost = input.converge && desired !== 'deleted' ? lostDomain(input) : undefined;
  if (lost) return lost;
  if (desired === 'deleted') {
    return observed === 'absent'
      ? agree('deleted and absent')
      : {
          drift: `machine is deleted but its domain is ${observed}`,
          steps: [],
          why: "a deleted machine's domain is reported, never destroyed silently",
        };
  }
  const target = targetState(runStrategy, desired);
  const running = isRunningState(observed);
  const stopped = observed === 'shutoff' || observed === 'crashed' || observed === 'nostate';
  const seen = `${observed}${reason ? ` (${reason})` : ''}`;

  if (target === 'running' && running) return agree('running as it should');
  if (target === 'stopped' && observed === 'shutdown') return agree('a shutdown is in progress');
  if (target === 'stopped' && (stopped || observed === 'absent')) {
    return observed === 'absent' && runStrategy !== 'Manual'
      ? { drift: 'domain is missing', steps: ['define'], why: `${runStrategy}: define it again, left shut off` }
      : agree(observed === 'absent' ? 'Manual: missing domain left to the user' : 'stopped as it should');
  }
  if (target === 'paused' && observed === 'paused') return agree('paused by the user');

  const drift = `expected ${target}, libvirt reports ${seen}`;
  if (runStrategy === 'Manual') return { drift, steps: [], why: 'Manual: drift is reported, never corrected' };

  if (target === 'stopped') {
    // A paused or crashed guest cannot answer an ACPI request: pull the plug.
    const step: CorrectiveStep = running ? 'shutdown' : 'destroy';
    return { drift, steps: [step], why: `${runStrategy}: the machine must not run` };
  }
  if (target === 'paused') {
    // The user paused it and something else changed it; do not guess which state they want now.
    return { drift, steps: [], why: 'paused by the user: drift is reported, the user decides' };
  }
  // target running
  if (observed === 'absent')
    return { drift, steps: ['define', 'start'], why: `${runStrategy}: define and start it again` };
  if (observed === 'paused' || observed === 'pmsuspended') {
    return { drift, steps: ['resume'], why: `${runStrategy}: resume a machine paused behind the user's back` };
  }
  if (observed === 'shutdown') return { drift, steps: [], why: 'a shutdown is in progress: look again once it ends' };
  if (runStrategy === 'RerunOnFailure' && observed === 'shutoff' && completed(reason)) {
    return {
      drift,
      steps: [],
      desired: 'stopped',
      why: 'RerunOnFailure: the guest shut itself down, so its run is complete',
    };
  }
  // An active domain in the crashed state (on_crash=preserve) must be destroyed before it can start.
  const steps: CorrectiveStep[] = observed === 'crashed' ? ['destroy', 'start'] : ['start'];
  return { drift, steps, why: `${runStrategy}: start it again` };
}

/** The state a strategy aims for, given the state the user last asked for. */
function targetState(
  runStrategy: RunStrategy,
  desired: Exclude<DesiredState, 'deleted'>,
): 'running' | 'stopped' | 'paused' {
  if (runStrategy === 'Halted') return 'stopped';
  if (desired === 'paused') return 'paused';
  if (runStrategy === 'Always') return 'running';
  return desired;
}

/**
 * A domain libvirt no longer has (a host that lost it, a test driver that restarted):
 * redefined as the user left the machine, paused included, or under Manual recorded absent
 * once and then left to the user.
 */
function lostDomain({ runStrategy, desired, observed, recorded }: ReconcileInput): ReconcileDecision | undefined {
  if (observed !== 'absent') return undefined;
  if (runStrategy === 'Manual') {
    return recorded === 'absent'
      ? agree('Manual: recorded absent, left to the user')
      : { drift: 'domain is missing', steps: [], why: 'Manual: recorded absent; the user defines it again' };
  }
  if (runStrategy !== 'Halted' && desired === 'paused') {
    return {
      drift: 'domain is missing',
      steps: ['define', 'start', 'suspend'],
      why: `${runStrategy}: define it again, start it and pause it as the user left it`,
    };
  }
  return undefined;
}
