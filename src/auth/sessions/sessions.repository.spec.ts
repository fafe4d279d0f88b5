import type { PrismaService } from '../../database/prisma.service';
import type { Db } from '../../database/transaction';
import { SessionsRepository } from './sessions.repository';

/**
 * The deletion's token locks, statement by statement. A refresh that held a token while the
 * locking statement waited commits a successor that statement could not see; the e2e suite
 * cannot time a second refresh into that gap, so a stub plays the database's answers here.
 */
describe('SessionsRepository.lockLiveTokensOfUser', () => {
  const repository = new SessionsRepository({} as PrismaService);
  const userId = '0190f2a0-0000-7000-8000-000000000002';

  function database(answers: string[][]) {
    const queryRaw = jest.fn(async () => (answers.shift() ?? []).map((token) => ({ token })));
    return { db: { $queryRaw: queryRaw } as unknown as Db, queryRaw };
  }

  it('locks again until no token turns up that it has not locked', async () => {
    // The first statement waited for a refresh of t1, which committed t2.
    const { db, queryRaw } = database([['t1'], ['t2'], ['t2'], ['t9']]);
    await repository.lockLiveTokensOfUser(userId, db);
    expect(queryRaw).toHaveBeenCalledTimes(3);
  });

  it('runs once when the user has no live token', async () => {
    const { db, queryRaw } = database([[]]);
    await repository.lockLiveTokensOfUser(userId, db);
    expect(queryRaw).toHaveBeenCalledTimes(1);
  });
});
