import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { RefreshTokenCodec } from '../tokens/refresh-token-codec';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';

/**
 * Sessions and refresh tokens, on their own so that UsersModule (deactivation, password change)
 * can revoke sessions without depending on AuthModule.
 */
@Module({
  imports: [AuditModule],
  providers: [SessionsRepository, SessionsService, RefreshTokenCodec],
  exports: [SessionsService, SessionsRepository],
})
export class SessionsModule {}
