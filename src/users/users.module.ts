import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { PasswordsModule } from '../auth/passwords/passwords.module';
import { SessionsModule } from '../auth/sessions/sessions.module';
import { ThrottlingModule } from '../throttling/throttling.module';
import { AdminUsersController } from './admin-users.controller';
import { FirstSuperuserSeeder } from './first-superuser.seeder';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [PasswordsModule, SessionsModule, AuditModule, ThrottlingModule],
  controllers: [UsersController, AdminUsersController],
  providers: [UsersRepository, UsersService, FirstSuperuserSeeder],
  exports: [UsersService],
})
export class UsersModule {}
