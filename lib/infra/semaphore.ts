/** At most `size` holders at a time; the others wait, first come first served. */
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`a semaphore needs a size of at least 1, not ${size}`);
  }

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held < this.size) this.held++;
    // A releasing holder passes its slot straight to the next waiter, so held stays counted.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.held--;
    }
  }
}
