import { WorkLimiter, WorkQueueFullError } from './work-limiter';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('WorkLimiter', () => {
  it('runs at most `concurrency` tasks at once, queues up to `queueLimit`, refuses the rest', async () => {
    const limiter = new WorkLimiter(2, 3);
    let running = 0;
    let peak = 0;
    const gates = Array.from({ length: 5 }, deferred);
    const tasks = gates.map((gate) =>
      limiter.run(async () => {
        peak = Math.max(peak, ++running);
        await gate.promise;
        running--;
      }),
    );
    await expect(limiter.run(async () => undefined)).rejects.toBeInstanceOf(WorkQueueFullError);
    expect(limiter.queued).toBe(3);
    gates.forEach((gate) => gate.resolve());
    await Promise.all(tasks);
    expect(peak).toBe(2);
    await expect(limiter.run(async () => 'free again')).resolves.toBe('free again');
  });

  it('releases its slot when a task fails', async () => {
    const limiter = new WorkLimiter(1, 0);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 1)).resolves.toBe(1);
  });
});
