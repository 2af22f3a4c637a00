import { conflict, validationError } from '../errors';
import {
  abortSummary,
  fromEarlierSnapshot,
  livePhases,
  maxNameLength,
  maxReasonLength,
  unnamedOperator,
  type Action,
  type Phase,
  type RolloutSnapshot,
  type Transition,
} from './phases';
import { describeStep, type Step } from './step-spec';
import { controlCharacters } from '../text';

/**
 * The rollout's state machine. The workflow wires its timers, activities and update
 * handlers to these methods; the class holds the phase, the step and the weight, and
 * refuses a transition that does not apply with a reason a person can act on (the
 * update validators call `refusal`).
 *
 * A person's abort and the judge's rollback both go to weight 0 in one transition from any
 * live phase, the post-promotion watch included, and both end in the one phase `aborted`,
 * which records who or what aborted and why: walking back through the steps, or ignoring
 * an abort after a full promote, are known failures of other tools.
 */

export class RolloutMachine {
  private s: RolloutSnapshot;

  constructor(
    private readonly steps: readonly Step[],
    snapshot?: RolloutSnapshot,
  ) {
    if (steps.length === 0) throw validationError('a rollout needs at least one step');
    this.s = snapshot
      ? fromEarlierSnapshot(snapshot)
      : { phase: 'progressing', stepIndex: -1, weight: 0, attempt: 1, revision: 0 };
  }

  get phase(): Phase {
    return this.s.phase;
  }
  get stepIndex(): number {
    return this.s.stepIndex;
  }
  get weight(): number {
    return this.s.weight;
  }
  get revision(): number {
    return this.s.revision;
  }
  /** The current step, or undefined past the last one. */
  get step(): Step | undefined {
    return this.steps[this.s.stepIndex];
  }
  snapshot(): RolloutSnapshot {
    return { ...this.s, pause: this.s.pause && { ...this.s.pause } };
  }

  // ---- driven by the workflow --------------------------------------------------------------

  /** Enters the first step, unless the rollout was aborted before it. */
  start(): Transition | undefined {
    if (this.s.stepIndex !== -1) throw conflict('the rollout has already started');
    // An abort that came while the rollout recorded its start holds: the first step never begins.
    if (this.s.phase === 'aborted') return undefined;
    return this.move('start', () => this.enter(0));
  }

  /**
   * The workflow finished step `index` (its weight is set, its pause or analysis is over).
   * False, and no change, when the rollout moved on meanwhile (a promote, an abort) or is
   * waiting for a person (a manual gate, an inconclusive hold): a late timer must never
   * advance the rollout, and only approve or promote opens a gate.
   */
  completeStep(index: number): Transition | undefined {
    if (index !== this.s.stepIndex || !livePhases.has(this.s.phase) || this.s.phase === 'watching') return undefined;
    if (this.s.phase === 'waiting-for-approval' || this.s.pause?.kind === 'inconclusive') return undefined;
    return this.move('step', () => this.enter(index + 1));
  }

  /** An analysis was inconclusive past its limit: hold the weight and wait for a person. */
  holdInconclusive(reason: string): Transition | undefined {
    if (!livePhases.has(this.s.phase) || this.s.pause?.kind === 'inconclusive') return undefined;
    return this.move(
      'inconclusive',
      () => {
        this.s.phase = 'paused';
        this.s.pause = { kind: 'inconclusive', reason };
      },
      reason,
    );
  }

  /**
   * An analysis failed, or a traffic controller refused a step: weight 0 at once, from any
   * live phase. `by` names what aborted (`the background analysis`).
   */
  rollback(by: string, reason: string): Transition | undefined {
    if (!livePhases.has(this.s.phase)) return undefined;
    return this.move('rollback', () => this.stop(by, reason), abortSummary({ abortedBy: by, reason }));
  }

  /** The post-promotion watch ran its whole window without a rollback. */
  endWatch(): Transition | undefined {
    if (this.s.phase !== 'watching') return undefined;
    return this.move('watchEnded', () => {
      this.s.phase = 'promoted';
    });
  }

  // ---- updates from people (each with its validator) -------------------------------------------

  /** Why `action` cannot apply now, or undefined when it can. */
  refusal(action: Action, reason?: string): string | undefined {
    const { phase } = this.s;
    const where = this.where();
    switch (action) {
      case 'promote':
        if (phase === 'watching')
          return `the rollout is already at weight 100 and watching; nothing left to skip (abort still rolls back)`;
        if (!livePhases.has(phase))
          return `promote applies to a live rollout; this one is ${phase}${this.s.reason ? ` (${this.s.reason})` : ''}`;
        if (this.s.stepIndex < 0) return 'the rollout has not started yet';
        return undefined;
      case 'promoteFull':
        if (phase === 'watching') return 'the rollout is already at weight 100 and watching';
        if (!livePhases.has(phase)) return `promoteFull applies to a live rollout; this one is ${phase}`;
        return undefined;
      case 'abort': {
        if (phase === 'aborted')
          return `the rollout is already ${abortSummary(this.s)} (weight 0); retry starts it again`;
        if (phase === 'promoted')
          return 'the rollout finished at weight 100 and its watch is over; roll the previous version out to go back';
        const text = reason?.trim() ?? '';
        if (text.length === 0) return 'abort needs a reason: it is recorded with the abort';
        if (text.length > maxReasonLength)
          return `the abort reason must be at most ${maxReasonLength} characters, got ${text.length}`;
        if (controlCharacters.test(text)) return 'the abort reason must not contain control characters';
        return undefined;
      }
      case 'approve':
        if (phase !== 'waiting-for-approval') {
          return `approve applies only at a manual gate (a pause until approved); the rollout is ${phase}${where}${
            this.s.pause?.kind === 'inconclusive'
              ? ': an inconclusive analysis is passed with promote, or the rollout aborted'
              : ''
          }`;
        }
        return undefined;
      case 'retry':
        if (phase !== 'aborted') return `retry applies only after an abort; the rollout is ${phase}${where}`;
        return undefined;
    }
  }

  /** Skips the current step (a pause, a gate, an inconclusive hold); past the last step the watch follows. */
  promote(): Transition {
    this.assert('promote');
    if (this.s.pause?.kind === 'inconclusive' && this.s.stepIndex >= this.steps.length) {
      // Held during the watch: promoting accepts the release as it stands.
      return this.move('promote', () => {
        this.s.phase = 'promoted';
        this.s.pause = undefined;
      });
    }
    return this.move('promote', () => this.enter(this.s.stepIndex + 1));
  }

  /** Straight to weight 100 and the watch, skipping every remaining step. */
  promoteFull(): Transition {
    this.assert('promoteFull');
    return this.move('promoteFull', () => this.enter(this.steps.length));
  }

  /** A person's abort; `by` names them (the API's caller), an unnamed operator when absent. */
  abort(reason: string, by?: string): Transition {
    this.assert('abort', reason);
    const text = reason.trim();
    const who = by?.trim().slice(0, maxNameLength) || unnamedOperator;
    return this.move('abort', () => this.stop(who, text), abortSummary({ abortedBy: who, reason: text }));
  }

  /** Opens a manual gate. */
  approve(): Transition {
    this.assert('approve');
    return this.move('approve', () => this.enter(this.s.stepIndex + 1));
  }

  /** Starts the steps again from the first, after an abort. */
  retry(): Transition {
    this.assert('retry');
    return this.move('retry', () => {
      this.s.reason = undefined;
      this.s.abortedBy = undefined;
      this.s.attempt += 1;
      this.enter(0);
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  private assert(action: Action, reason?: string): void {
    const refused = this.refusal(action, reason);
    if (refused) throw conflict(`${action} refused: ${refused}`);
  }

  private where(): string {
    const step = this.step;
    return step ? ` at step ${this.s.stepIndex + 1} of ${this.steps.length} (${describeStep(step)})` : '';
  }

  private enter(index: number): void {
    this.s.stepIndex = Math.min(index, this.steps.length);
    this.s.pause = undefined;
    const step = this.steps[index];
    if (!step) {
      this.s.phase = 'watching';
      this.s.weight = 100;
    } else if ('setWeight' in step) {
      this.s.phase = 'progressing';
      this.s.weight = step.setWeight;
    } else if ('pause' in step) {
      if ('duration' in step.pause) {
        this.s.phase = 'paused';
        this.s.pause = { kind: 'timed', duration: step.pause.duration };
      } else {
        this.s.phase = 'waiting-for-approval';
        this.s.pause = { kind: 'approval' };
      }
    } else {
      this.s.phase = 'analysing';
    }
  }

  private stop(by: string, reason: string): void {
    this.s.phase = 'aborted';
    this.s.weight = 0;
    this.s.pause = undefined;
    this.s.reason = reason;
    this.s.abortedBy = by;
  }

  private move(action: Transition['action'], change: () => void, reason?: string): Transition {
    const from = this.s.phase;
    change();
    this.s.revision += 1;
    return {
      action,
      from,
      to: this.s.phase,
      stepIndex: this.s.stepIndex,
      weight: this.s.weight,
      ...(reason ? { reason } : {}),
    };
  }
}
