import type { Prisma } from '../generated/prisma/client';

/** The columns a user is read with everywhere: the password hash is not among them. */
export const USER_COLUMNS = {
  id: true,
  email: true,
  fullName: true,
  isActive: true,
  isSuperuser: true,
  roles: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.UserSelect;

export type UserRecord = Prisma.UserGetPayload<{ select: typeof USER_COLUMNS }>;

export interface NewUser {
  /** Canonical form (normalizeEmail). */
  email: string;
  passwordHash: string;
  passwordChangedAt?: Date;
  fullName?: string | null;
  isActive?: boolean;
  isSuperuser?: boolean;
  roles?: string[];
}
