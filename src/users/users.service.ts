import { Injectable } from '@nestjs/common';
import { PasswordHasher } from '../auth/passwords/password-hasher';
import { SessionsService } from '../auth/sessions/sessions.service';
import { isAcceptablePasswordLength } from '../common/credentials';
import { ApiException } from '../common/errors/api-exception';
import type { Page } from '../common/validation/page';
import { CacheInvalidationBus } from '../database/cache-invalidation-bus';
import { isRecordNotFound, isUniqueConstraintViolation } from '../database/prisma-errors';
import { PrismaService } from '../database/prisma.service';
import type { Db } from '../database/transaction';
import type {
  CreateUserRequest,
  ListUsersQuery,
  UpdateProfileRequest,
  UpdateUserRequest,
} from './dto/user-requests';
import type { UserRecord } from './user.record';
import { UsersRepository, type UserChanges } from './users.repository';

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
  ) {}

  findById(id: string): Promise<UserRecord | null> {
    return this.users.findById(id);
  }

  async findOrFail(id: string): Promise<UserRecord> {
    const user = await this.users.findById(id);
    if (!user) throw new ApiException('not_found', { detail: 'No such user' });
    return user;
  }

  /**
   * The user with this email and password, or null. An unknown email costs one argon2 verify like
   * a wrong password does, so neither the answer nor its timing tells them apart. A hash made with
   * other argon2 parameters is replaced now that the password is known.
   */
  async authenticate(email: string, password: string): Promise<UserRecord | null> {
    const found = await this.users.findCredentials({ email });
    if (!found) return this.hasher.verifyDummy(password).then(() => null);
    const { passwordHash, ...user } = found;
    if (!(await this.hasher.verify(passwordHash, password))) return null;
    if (this.hasher.needsRehash(passwordHash)) {
      await this.users.update(user.id, { passwordHash: await this.hasher.hash(password) });
    }
    return user;
  }

  /** Whether `password` is this user's current password. */
  async hasPassword(userId: string, password: string): Promise<boolean> {
    const found = await this.users.findCredentials({ id: userId });
    return !!found && (await this.hasher.verify(found.passwordHash, password));
  }

  /** Sign-up: an ordinary, active user. */
  register(input: {
    email: string;
    password: string;
    fullName?: string | null;
  }): Promise<UserRecord> {
    return this.create({ ...input, isSuperuser: false, isActive: true, roles: [] });
  }

  async create(input: CreateUserRequest): Promise<UserRecord> {
    const passwordHash = await this.hashAcceptable(input.password);
    return this.translateErrors(() =>
      this.users.create({
        email: input.email,
        passwordHash,
        fullName: input.fullName ?? null,
        isSuperuser: input.isSuperuser ?? false,
        isActive: input.isActive ?? true,
        roles: input.roles ?? [],
      }),
    );
  }

  updateProfile(userId: string, changes: UpdateProfileRequest): Promise<UserRecord> {
    return this.change(userId, changes);
  }

  /** Sets a new password and ends every other session of the user (the current one stays). */
  async changePassword(
    userId: string,
    currentSessionId: string | undefined,
    currentPassword: string,
    newPassword: string,
  ): Promise<void> {
    if (!(await this.hasPassword(userId, currentPassword))) {
      throw new ApiException('invalid_current_password');
    }
    const passwordHash = await this.hashAcceptable(newPassword);
    await this.prisma.$transaction(async (tx) => {
      await this.change(userId, { passwordHash }, tx);
      await this.sessions.revokeAllForUser(
        userId,
        'password_changed',
        { exceptSessionId: currentSessionId },
        tx,
      );
    });
  }

  list(query: ListUsersQuery): Promise<Page<UserRecord>> {
    return this.users.list(query);
  }

  /**
   * An administrator's change. Deactivation and a new password end all the user's sessions;
   * role and superuser changes reach every instance's cache within the second, so existing tokens
   * carry no more privilege than the new state.
   */
  async update(id: string, changes: UpdateUserRequest): Promise<UserRecord> {
    const { password, ...rest } = changes;
    const update: UserChanges = { ...rest };
    if (password !== undefined) update.passwordHash = await this.hashAcceptable(password);
    return this.prisma.$transaction(async (tx) => {
      const user = await this.change(id, update, tx);
      if (changes.isActive === false || password !== undefined) {
        await this.sessions.revokeAllForUser(
          id,
          changes.isActive === false ? 'user_deactivated' : 'admin',
          {},
          tx,
        );
      }
      return user;
    });
  }

  /** Deletes a user; sessions and tokens go with it (cascade). A superuser cannot delete itself. */
  async delete(actorId: string, id: string): Promise<void> {
    if (actorId === id) throw new ApiException('cannot_delete_self');
    await this.translateErrors(() =>
      this.prisma.$transaction(async (tx) => {
        await this.users.delete(id, tx);
        await this.invalidations.publish({ kind: 'user', id }, tx);
      }),
    );
  }

  private async change(
    id: string,
    changes: UserChanges,
    db: Db = this.prisma,
  ): Promise<UserRecord> {
    const run = async (tx: Db) => {
      const user = await this.users.update(id, changes, tx);
      await this.invalidations.publish({ kind: 'user', id }, tx);
      return user;
    };
    return this.translateErrors(() =>
      db === this.prisma ? this.prisma.$transaction((tx) => run(tx)) : run(db),
    );
  }

  private async hashAcceptable(password: string): Promise<string> {
    if (!isAcceptablePasswordLength(password)) {
      throw new ApiException('weak_password', { detail: WEAK_PASSWORD_DETAIL });
    }
    return this.hasher.hash(password);
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
