import { Injectable } from '@nestjs/common';
import { PasswordHasher } from '../auth/passwords/password-hasher';
import { SessionsService, type RevocationReason } from '../auth/sessions/sessions.service';
import { AuditLog } from '../audit/audit-log.service';
import type { Actor } from '../common/decorators/actor.decorator';
import type { ClientInfo } from '../common/client-info';
import { isAcceptablePasswordLength } from '../common/credentials';
import { ApiException } from '../common/errors/api-exception';
import type { Page } from '../common/validation/page';
import { CacheInvalidationBus } from '../database/cache-invalidation-bus';
import { isRecordNotFound, isUniqueConstraintViolation } from '../database/prisma-errors';
import { PrismaService } from '../database/prisma.service';
import { LoginThrottle } from '../throttling/login-throttle.service';
import type { Db } from '../database/transaction';
import type {
  CreateUserRequest,
  ListUsersQuery,
  UpdateProfileRequest,
  UpdateUserRequest,
} from './dto/user-requests';
import type { UserRecord } from './user.record';
import { UsersRepository, type NewPassword, type UserChanges } from './users.repository';

export type Authentication =
  /** `passwordHash`: the hash the password matched, which a session is started against. */
  | { outcome: 'authenticated'; user: UserRecord; passwordHash: string }
  | { outcome: 'wrong_password'; userId: string }
  | { outcome: 'unknown_email' };

const WEAK_PASSWORD_DETAIL =
  'A password is 8 to 128 characters long, counted after Unicode NFKC normalisation';

/**
 * Users: sign-up, credentials, profile and administration. The password hash stays inside this
 * module; callers get UserRecords. Every change is announced to the caches of all instances, and
 * changes that end a user's access (deactivation, a new password) revoke their sessions in the
 * same transaction.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly invalidations: CacheInvalidationBus,
    private readonly prisma: PrismaService,
    private readonly audit: AuditLog,
    private readonly throttle: LoginThrottle,
  ) {}

  findById(id: string): Promise<UserRecord | null> {
    return this.users.findById(id);
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.users.findByEmail(email);
  }

  async findOrFail(id: string): Promise<UserRecord> {
    const user = await this.users.findById(id);
    if (!user) throw new ApiException('not_found', { detail: 'No such user' });
    return user;
  }

  /**
   * Checks an email and password. An unknown email costs one argon2 verify like a wrong password
   * does, so neither the answer nor its timing tells them apart (the outcome says which, for the
   * audit trail only). A hash made with other argon2 parameters is replaced now that the password
   * is known.
   */
  async authenticate(email: string, password: string): Promise<Authentication> {
    const found = await this.users.findCredentials({ email });
    if (!found) {
      await this.hasher.verifyDummy(password);
      return { outcome: 'unknown_email' };
    }
    const { passwordHash, ...user } = found;
    if (!(await this.hasher.verify(passwordHash, password))) {
      return { outcome: 'wrong_password', userId: user.id };
    }
    if (this.hasher.needsRehash(passwordHash)) {
      const rehashed = await this.hasher.hash(password);
      // Only over the hash just verified: a new password set meanwhile must not be overwritten
      // by the old one's re-hash. If it was, the password presented is no longer the password.
      if (!(await this.users.replacePasswordHash(user.id, passwordHash, rehashed))) {
        return { outcome: 'wrong_password', userId: user.id };
      }
      return { outcome: 'authenticated', user, passwordHash: rehashed };
    }
    return { outcome: 'authenticated', user, passwordHash };
  }

  /**
   * Whether `password` is the user's current password. The check is a guess like a login's and is
   * throttled by the same rules, on counters of the user's id (an email change, which needs only
   * an access token, must not reset them): a stolen access token must not let its holder try
   * passwords at argon2's pace. Undefined when the user no longer exists.
   */
  private async hasPassword(
    userId: string,
    password: string,
    client: ClientInfo,
  ): Promise<boolean | undefined> {
    const found = await this.users.findCredentials({ id: userId });
    if (!found) return undefined;
    return this.throttle.judge(
      `user:${userId}`,
      client.ip,
      () => this.hasher.verify(found.passwordHash, password),
      (matches) => matches,
    );
  }

  /** Sign-up: an ordinary, active user. */
  async register(input: {
    email: string;
    password: string;
    fullName?: string | null;
  }): Promise<UserRecord> {
    const password = await this.preparePassword(input.password);
    return this.translateErrors(() =>
      this.users.create({
        email: input.email,
        fullName: input.fullName ?? null,
        isSuperuser: false,
        isActive: true,
        roles: [],
        ...password,
      }),
    );
  }

  /** An administrator creates a user. */
  async create(input: CreateUserRequest, actor: Actor): Promise<UserRecord> {
    const password = await this.preparePassword(input.password);
    const user = await this.translateErrors(() =>
      this.prisma.$transaction(async (tx) => {
        await this.lockAsSuperuser(actor, actor.userId, tx);
        return this.users.create(
          {
            email: input.email,
            fullName: input.fullName ?? null,
            isSuperuser: input.isSuperuser ?? false,
            isActive: input.isActive ?? true,
            roles: input.roles ?? [],
            ...password,
          },
          tx,
        );
      }),
    );
    this.audit.record({
      type: 'user_created',
      userId: user.id,
      sessionId: actor.sessionId,
      client: actor.client,
      detail: { actorId: actor.userId, isSuperuser: user.isSuperuser, roles: user.roles },
    });
    return user;
  }

  async updateProfile(actor: Actor, changes: UpdateProfileRequest): Promise<UserRecord> {
    if (nothingIn(changes)) {
      const unchanged = await this.users.findById(actor.userId);
      if (!unchanged) throw callerGone();
      return unchanged;
    }
    const user = await this.asCaller(actor, (tx) => this.change(actor.userId, changes, tx));
    this.recordUpdate(actor, actor.userId, Object.keys(changes));
    return user;
  }

  /** Sets a new password and ends every other session of the user (the current one stays). */
  async changePassword(actor: Actor, currentPassword: string, newPassword: string): Promise<void> {
    const matches = await this.hasPassword(actor.userId, currentPassword, actor.client);
    if (matches === undefined) throw callerGone();
    if (!matches) throw new ApiException('invalid_current_password');
    const password = await this.preparePassword(newPassword);
    await this.asCaller(actor, (tx) =>
      this.applyPassword(
        actor.userId,
        password,
        { reason: 'password_changed', keepSessionId: actor.sessionId, revokeApiKeys: false },
        tx,
      ),
    );
    this.audit.record({
      type: 'password_changed',
      userId: actor.userId,
      sessionId: actor.sessionId,
      client: actor.client,
    });
  }

  /**
   * Checks a new password against the policy (weak_password) and hashes it, before any
   * transaction is opened: hashing takes tens of milliseconds.
   */
  async preparePassword(password: string): Promise<NewPassword> {
    if (!isAcceptablePasswordLength(password)) {
      throw new ApiException('weak_password', { detail: WEAK_PASSWORD_DETAIL });
    }
    return { passwordHash: await this.hasher.hash(password), passwordChangedAt: new Date() };
  }

  /**
   * The one way a password changes (the user, an administrator, a reset): the new hash, the
   * user's reset token deleted, and every session of the user revoked but `keepSessionId`, in the
   * caller's transaction. When the account is being recovered (a reset, an administrator setting
   * the password), its API keys are revoked too: whoever had the account may have made some.
   */
  async applyPassword(
    userId: string,
    password: NewPassword,
    change: { reason: RevocationReason; keepSessionId?: string; revokeApiKeys: boolean },
    tx: Db,
  ): Promise<UserRecord> {
    const user = await this.change(userId, password, tx);
    await this.sessions.revokeAllForUser(
      userId,
      change.reason,
      { exceptSessionId: change.keepSessionId },
      tx,
    );
    if (change.revokeApiKeys) {
      for (const id of await this.users.deleteApiKeys(userId, tx)) {
        await this.invalidations.publish({ kind: 'api-key', id }, tx);
      }
    }
    return user;
  }

  list(query: ListUsersQuery): Promise<Page<UserRecord>> {
    return this.users.list(query);
  }

  /**
   * An administrator's change. Deactivation and a new password end all the user's sessions;
   * role and superuser changes reach every instance's cache within the second, so existing tokens
   * carry no more privilege than the new state.
   */
  async update(id: string, changes: UpdateUserRequest, actor: Actor): Promise<UserRecord> {
    // As with deleting oneself: the last superuser could otherwise lock everyone out of the
    // admin API, and the seed creates no new one while its account exists.
    if (actor.userId === id && (changes.isSuperuser === false || changes.isActive === false)) {
      throw new ApiException('forbidden', {
        detail: 'A superuser cannot remove its own superuser rights or deactivate itself',
      });
    }
    if (nothingIn(changes)) return this.findOrFail(id);
    const { password, ...rest } = changes;
    const prepared = password === undefined ? undefined : await this.preparePassword(password);
    const user = await this.prisma.$transaction(async (tx) => {
      await this.lockAsSuperuser(actor, id, tx);
      if (prepared) {
        await this.applyPassword(id, prepared, { reason: 'admin', revokeApiKeys: true }, tx);
      }
      const updated = await this.change(id, rest, tx);
      if (changes.isActive === false) {
        await this.sessions.revokeAllForUser(id, 'user_deactivated', {}, tx);
      }
      return updated;
    });
    this.recordUpdate(actor, id, Object.keys(changes));
    return user;
  }

  /** Deletes a user; sessions, tokens and keys go with it (cascade). Not oneself. */
  async delete(actor: Actor, id: string): Promise<void> {
    if (actor.userId === id) throw new ApiException('cannot_delete_self');
    const deleted = await this.translateErrors(() =>
      this.prisma.$transaction(async (tx) => {
        await this.lockAsSuperuser(actor, id, tx);
        await this.sessions.lockBeforeDeletingUser(id, tx);
        const user = await this.users.delete(id, tx);
        await this.invalidations.publish({ kind: 'user', id }, tx);
        return user;
      }),
    );
    this.audit.record({
      type: 'user_deleted',
      userId: id,
      sessionId: actor.sessionId,
      client: actor.client,
      detail: { actorId: actor.userId, email: deleted.email },
    });
  }

  /**
   * A change of the caller's own account, in a transaction that commits only while the caller's
   * session is live (see SessionsService.assertLive: `work` locks the user's row first). An
   * account deleted meanwhile is the caller gone, not a missing resource.
   */
  private async asCaller<T>(actor: Actor, work: (tx: Db) => Promise<T>): Promise<T> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const result = await work(tx);
        await this.sessions.assertLive(actor, tx);
        return result;
      });
    } catch (error) {
      throw isNotFound(error) ? callerGone() : error;
    }
  }

  /**
   * An administrator's write must still be a superuser's, from a live session, when it is made:
   * two superusers demoting, deactivating or deleting each other at the same moment had each
   * passed the guard before the other's change, both changes went through, and no superuser was
   * left; a superuser demoted meanwhile could still create another. Holding both rows (and the
   * actor's session) until the commit, a change made meanwhile is seen and the write refused.
   */
  private async lockAsSuperuser(actor: Actor, targetId: string, tx: Db): Promise<void> {
    if (!(await this.users.lockActorAndTarget(actor.userId, targetId, tx))) {
      throw new ApiException('forbidden', { detail: 'Only a superuser may do this' });
    }
    await this.sessions.assertLive(actor, tx);
  }

  /** Names the fields changed, never their values (one of them may be a password). */
  private recordUpdate(actor: Actor, userId: string, fields: string[]): void {
    this.audit.record({
      type: 'user_updated',
      userId,
      sessionId: actor.sessionId,
      client: actor.client,
      detail: { actorId: actor.userId, fields: fields.sort() },
    });
  }

  private async change(
    id: string,
    changes: UserChanges,
    db: Db = this.prisma,
  ): Promise<UserRecord> {
    const run = async (tx: Db) => {
      const user = await this.users.update(id, changes, tx);
      // A reset link mailed earlier must not outlive a new password, a new address (it went to
      // the old one) or a deactivation.
      if (changes.passwordHash || changes.email !== undefined || changes.isActive === false) {
        await this.users.deletePasswordResetToken(id, tx);
      }
      await this.invalidations.publish({ kind: 'user', id }, tx);
      return user;
    };
    return this.translateErrors(() =>
      db === this.prisma ? this.prisma.$transaction((tx) => run(tx)) : run(db),
    );
  }

  private async translateErrors<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isUniqueConstraintViolation(error)) {
        throw new ApiException('email_taken', { detail: 'An account with this email exists' });
      }
      if (isRecordNotFound(error)) throw new ApiException('not_found', { detail: 'No such user' });
      throw error;
    }
  }
}

const isNotFound = (error: unknown) => error instanceof ApiException && error.code === 'not_found';

/**
 * The caller's own account was deleted while its request was on the way (the guard had let it
 * through): its token no longer stands for anyone, as the next request's guard would say.
 */
const callerGone = () => new ApiException('invalid_token');

/** A PATCH that names no field changes nothing: no write, no new updatedAt, no audit event. */
const nothingIn = (changes: object) => Object.keys(changes).length === 0;
