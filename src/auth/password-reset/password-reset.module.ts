import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { MailModule } from '../../mail/mail.module';
import { ThrottlingModule } from '../../throttling/throttling.module';
import { UsersModule } from '../../users/users.module';
import { PasswordResetTokensRepository } from './password-reset-tokens.repository';
import { PasswordResetController } from './password-reset.controller';
import { PasswordResetService } from './password-reset.service';

@Module({
  imports: [UsersModule, MailModule, ThrottlingModule, AuditModule],
  controllers: [PasswordResetController],
  providers: [PasswordResetService, PasswordResetTokensRepository],
})
export class PasswordResetModule {}
