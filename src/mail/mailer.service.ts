import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';
import { AppConfig } from '../config/app-config';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Values that must not reach a log: replaced when the message is logged instead of sent. */
  secrets: string[];
}

/** Bounds on every SMTP exchange, so a stuck server cannot pile up deliveries. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

/**
 * Outgoing mail through nodemailer: SMTP when SMTP_URL is set. Without it the message is written
 * to the log instead, its secrets (the reset token) redacted except in development, where a
 * developer follows the link from the log.
 */
@Injectable()
export class Mailer implements OnApplicationShutdown {
  private readonly logger = new Logger(Mailer.name);
  private readonly transport: Transporter | undefined;
  private readonly showSecrets: boolean;

  constructor(private readonly config: AppConfig) {
    const { smtpUrl, from } = config.mail;
    this.transport = smtpUrl
      ? createTransport({ url: smtpUrl, ...SMTP_TIMEOUTS }, { from })
      : undefined;
    this.showSecrets = config.env === 'development';
  }

  /** Sends (or logs) a message; rejects when the SMTP server refuses it or cannot be reached. */
  async send(mail: Mail): Promise<void> {
    const { secrets, ...message } = mail;
    if (this.transport) {
      await this.transport.sendMail(message);
      return;
    }
    const redact = (text: string) =>
      this.showSecrets
        ? text
        : secrets.reduce((out, secret) => out.replaceAll(secret, '[REDACTED]'), text);
    this.logger.log(
      `Mail not sent (SMTP_URL is not set): to ${mail.to}, subject "${mail.subject}"\n${redact(mail.text)}`,
    );
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }
}
