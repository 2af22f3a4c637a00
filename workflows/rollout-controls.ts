import type { UpdateDefinition } from '@temporalio/common';
import { setHandler } from '@temporalio/workflow';
import { abort, approve, promote, promoteFull, retry, type RolloutStatus } from '../lib/rollout/contract';
import type { Action, Transition } from '../lib/rollout/phases';
import { controlCharacters } from '../lib/text';
import type { AbortCause, Run } from './rollout-run';

/** Every control takes at most a reason and who asks (abort does; the others take nothing). */
type ControlUpdate = UpdateDefinition<RolloutStatus, [reason?: string, by?: string]>;

type Control = {
  update: ControlUpdate;
  action: Action;
  /** Asks the machine for the transition; what must be reset first is reset here. */
  act: (reason?: string, by?: string) => Transition | undefined;
  cause?: AbortCause;
};

/** An abort's inputs as the CLI sends them, said so when they are not strings. */
function checkAbortInputs(reason: unknown, by: unknown): void {
  if (typeof reason !== 'string') {
    throw new Error('abort needs a reason, a string (temporal workflow update execute --input \'"why"\')');
  }
  if (by !== undefined && by !== null && typeof by !== 'string') {
    throw new Error('abort takes who aborts as its second input, a string (--input \'"alice"\')');
  }
  if (typeof by === 'string' && controlCharacters.test(by)) {
    throw new Error('who aborts must not contain control characters');
  }
}

/**
 * The rollout's controls as updates, from one table: each differs only in the transition it
 * asks of the machine. A validator is the machine's refusal, so a refused control never
 * enters the history; an accepted one is applied and answers the status after it.
 */
export function setControls(
  { machine, st, transition }: Pick<Run, 'machine' | 'st' | 'transition'>,
  parts: { currentStatus: () => RolloutStatus; resetBackground: () => void },
): void {
  const controls: Control[] = [
    {
      update: promote,
      action: 'promote',
      act: () => {
        // Past an inconclusive hold, the analyses start afresh: the old run's counts would hold it again.
        if (machine.snapshot().pause?.kind === 'inconclusive') parts.resetBackground();
        return machine.promote();
      },
    },
    { update: promoteFull, action: 'promoteFull', act: () => machine.promoteFull() },
    {
      update: abort as unknown as ControlUpdate,
      action: 'abort',
      act: (r, by) => machine.abort(r!, by),
      cause: 'manual',
    },
    { update: approve, action: 'approve', act: () => machine.approve() },
    {
      update: retry,
      action: 'retry',
      act: () => {
        parts.resetBackground();
        st.stepRuns = {};
        st.stepRevision = undefined;
        st.weightError = undefined;
        return machine.retry();
      },
    },
  ];
  for (const c of controls) {
    setHandler(
      c.update,
      async (reason, by) => {
        await transition(c.act(reason, by), c.cause);
        return parts.currentStatus();
      },
      {
        validator: (reason?: unknown, by?: unknown) => {
          if (c.action === 'abort') checkAbortInputs(reason, by);
          const refused = machine.refusal(c.action, reason as string | undefined);
          if (refused) throw new Error(`${c.action} refused: ${refused}`);
        },
      },
    );
  }
}
