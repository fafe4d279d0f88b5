import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule {
  /** `extraImports`: modules mounted beside the application (tests add probe routes). */
  static forRoot(config: AppConfig, extraImports: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // Hourly clean-ups (ended sessions, expired audit events, idle throttle rows).
        ScheduleModule.forRoot(),
        DatabaseModule,
        UsersModule,
        AuthModule,
        AuditModule,
        HealthModule,
        ...extraImports,
      ],
    };
  }
}
