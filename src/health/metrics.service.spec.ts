import type { PrismaService } from '../database/prisma.service';
import { Metrics } from './metrics.service';

describe('Metrics: auth_active_sessions', () => {
  const withCount = (count: () => Promise<number>) =>
    new Metrics({ session: { count: jest.fn(count) } } as unknown as PrismaService);
  const activeSessionsLines = async (metrics: Metrics) =>
    (await metrics.registry.getSingleMetricAsString('auth_active_sessions'))
      .split('\n')
      .filter((line) => !line.startsWith('#'));

  it('is the count of live sessions', async () => {
    expect(await activeSessionsLines(withCount(() => Promise.resolve(3)))).toEqual([
      'auth_active_sessions 3',
    ]);
  });

  it('has no sample, rather than a made-up 0, while the database cannot count them', async () => {
    let available = false;
    const metrics = withCount(() =>
      available ? Promise.resolve(7) : Promise.reject(new Error('database away')),
    );
    expect(await activeSessionsLines(metrics)).toEqual([]);
    available = true;
    expect(await activeSessionsLines(metrics)).toEqual(['auth_active_sessions 7']);
  });
});
