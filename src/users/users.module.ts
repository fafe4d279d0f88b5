import { Module } from '@nestjs/common';
import { PasswordsModule } from '../auth/passwords/passwords.module';
import { FirstSuperuserSeeder } from './first-superuser.seeder';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [PasswordsModule],
  providers: [UsersRepository, UsersService, FirstSuperuserSeeder],
  exports: [UsersService],
})
export class UsersModule {}
