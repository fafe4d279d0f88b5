import { availableParallelism } from 'node:os';

/** Thrown when the queue is full; the caller answers 503 with Retry-After. */
export class WorkQueueFullError extends Error {
  override readonly name = 'WorkQueueFullError';
}

/**
 * A semaphore with a bounded queue. At most `concurrency` tasks run at once (for argon2, which
 * runs on the libuv thread pool, more hashes than cores only make each one slower); up to
 * `queueLimit` wait; beyond that, callers are refused at once instead of piling up.
 */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency = Math.max(1, availableParallelism()),
    readonly queueLimit = 64 * Math.max(1, availableParallelism()),
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit)
        throw new WorkQueueFullError('work queue is full');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` never dips and overshoots.
      if (next) next();
      else this.running--;
    }
  }

  get queued(): number {
    return this.waiting.length;
  }
}
