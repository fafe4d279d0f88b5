import { Injectable } from '@nestjs/common';
import { UsersRepository } from './users.repository';
import type { UserRecord } from './user.record';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  findById(id: string): Promise<UserRecord | null> {
    return this.users.findById(id);
  }
}
