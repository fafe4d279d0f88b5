import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config';
import { DEFAULT_PASSWORD_RESET_URL } from '../../config/config.schema';
import { PasswordResetService } from './password-reset.service';

/** The service with only what its start-up check reads; the rest is never called here. */
function service(config: Pick<AppConfig, 'env' | 'mail' | 'passwordReset'>): PasswordResetService {
  const unused = {} as never;
  const prisma = { beforeDisconnect: () => undefined } as never;
  const rateLimits = { create: () => ({}) } as never;
  return new PasswordResetService(
    unused,
    unused,
    unused,
    unused,
    prisma,
    config as AppConfig,
    rateLimits,
  );
}

describe('PasswordResetService start-up check', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  const from = 'Auth <no-reply@example.com>';
  const custom = { url: 'https://app.example.com/reset', ttlSeconds: 3600 };
  const smtp = { smtpUrl: 'smtp://mail.example.com:587', from };

  it('warns in production when no mail can be sent', () => {
    service({
      env: 'production',
      mail: { smtpUrl: undefined, from },
      passwordReset: custom,
    }).onApplicationBootstrap();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^SMTP_URL is not set/));
  });

  it('warns in production when mails would link to the development default', () => {
    const passwordReset = { url: DEFAULT_PASSWORD_RESET_URL, ttlSeconds: 3600 };
    service({ env: 'production', mail: smtp, passwordReset }).onApplicationBootstrap();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^PASSWORD_RESET_URL is not set/));
  });

  it('is silent when production is configured, and outside production', () => {
    service({ env: 'production', mail: smtp, passwordReset: custom }).onApplicationBootstrap();
    service({
      env: 'development',
      mail: { smtpUrl: undefined, from },
      passwordReset: { url: DEFAULT_PASSWORD_RESET_URL, ttlSeconds: 3600 },
    }).onApplicationBootstrap();
    expect(warn).not.toHaveBeenCalled();
  });
});
