import { HttpException } from '@nestjs/common';
import { ERROR_CODES, type ErrorCode } from './error-codes';

export interface FieldError {
  /** Dotted path of the offending field ("email", "roles.2"); "" for the body itself. */
  field: string;
  message: string;
}

/** A field the endpoint does not know (the contract: 400 validation_failed, listing it). */
export const unknownField = (field: string): FieldError => ({
  field,
  message: 'is not a known field',
});

export interface ApiExceptionOptions {
  detail?: string;
  /** Overrides the catalogue's status (e.g. invalid_token is 400 on password-reset confirm). */
  status?: number;
  /** Seconds, sent as Retry-After (429, 503). */
  retryAfterSeconds?: number;
  /** Per-field problems, for validation_failed. */
  errors?: FieldError[];
}

/** The one exception type services throw for a client-facing failure; rendered as problem+json. */
export class ApiException extends HttpException {
  constructor(
    readonly code: ErrorCode,
    readonly problem: ApiExceptionOptions = {},
  ) {
    super(problem.detail ?? ERROR_CODES[code].title, problem.status ?? ERROR_CODES[code].status);
  }

  get detail(): string {
    return this.problem.detail ?? ERROR_CODES[this.code].title;
  }
}
