/**
 * How many requests the API works on at once. Past `maxInFlight` a request waits in a
 * short queue, first come first served, for at most `queueMs`; past `maxQueued` waiting,
 * or once its wait is over, it is refused. Refusing at the door is cheap; the same
 * request let in would queue inside Temporal or the pool and time out at the deadline
 * after holding a connection the admitted ones needed.
 *
 * Written here rather than taken from a library: the packages that bound concurrency
 * (p-limit, p-queue) queue without bound or time out only the work, not the wait, and the
 * whole policy is the few lines below.
 */
export interface AdmissionLimits {
  maxInFlight: number;
  maxQueued: number;
  queueMs: number;
}

export type Refusal = 'full' | 'waited';

export interface Ticket {
  /** True once admitted; the refusal when the queue was full or the wait ran out. */
  readonly admitted: Promise<true | Refusal>;
  /** Gives the slot back (or leaves the queue); safe to call more than once. */
  leave(): void;
}

export interface Admission {
  enter(): Ticket;
  readonly inFlight: number;
  readonly queued: number;
}

interface Waiter {
  admit(): void;
  refuse(): void;
  timer: NodeJS.Timeout;
}

export function createAdmission(limits: AdmissionLimits): Admission {
  let inFlight = 0;
  const queue: Waiter[] = [];

  // A finished request hands its slot straight to the next waiter, so inFlight stays counted.
  const release = () => {
    const next = queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.admit();
    } else inFlight--;
  };

  const enter = (): Ticket => {
    let state: 'in' | 'waiting' | 'out' = 'out';
    if (inFlight < limits.maxInFlight) {
      inFlight++;
      state = 'in';
      return {
        admitted: Promise.resolve(true),
        leave: () => {
          if (state === 'in') release();
          state = 'out';
        },
      };
    }
    if (queue.length >= limits.maxQueued) return { admitted: Promise.resolve('full'), leave: () => {} };
    let waiter!: Waiter;
    const admitted = new Promise<true | Refusal>((resolve) => {
      waiter = {
        admit: () => {
          state = 'in';
          resolve(true);
        },
        refuse: () => resolve('waited'),
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          state = 'out';
          resolve('waited');
        }, limits.queueMs),
      };
    });
    queue.push(waiter);
    state = 'waiting';
    return {
      admitted,
      leave: () => {
        if (state === 'in') release();
        else if (state === 'waiting') {
          clearTimeout(waiter.timer);
          queue.splice(queue.indexOf(waiter), 1);
          waiter.refuse();
        }
        state = 'out';
      },
    };
  };

  return {
    enter,
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return queue.length;
    },
  };
}
