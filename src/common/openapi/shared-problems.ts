import { applyDecorators } from '@nestjs/common';
import { ApiExtension, type OpenAPIObject } from '@nestjs/swagger';
import { maxHeaderSize } from 'node:http';
import { HTTP_TIMEOUTS } from '../http/http-timeouts';
import { ERROR_CODES } from '../errors/error-codes';
import { problemResponse } from './api-problems.decorator';

const WITHOUT_DATABASE = 'x-without-database';

/** Marks a route that answers without the database, so it is not documented with a 503. */
export const WithoutDatabase = () => applyDecorators(ApiExtension(WITHOUT_DATABASE, true));

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * Adds the error responses that come from the application shell rather than from a route, so
 * that every operation in the document lists them: 400 for a request that is not valid HTTP
 * (wherever a route lists no 400 of its own), 408, 417 and 431 from Node's HTTP server, the body
 * limit and JSON-only bodies wherever a body is read (every method but GET, also where the
 * operation takes none: a body sent there is read, and refused), compressed requests
 * everywhere, 403 for an API key where it is not accepted, and 503 when the database cannot be
 * reached (within 5 seconds, with Retry-After) for every operation that needs it. Route-declared
 * responses are kept.
 */
export function documentSharedProblems(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const [method, operation] of METHODS.map((method) => [method, item[method]] as const)) {
      if (!operation) continue;
      const responses = operation.responses;
      responses[ERROR_CODES.validation_failed.status] ??= problemResponse(
        ['validation_failed'],
        'the request is not valid HTTP: a URL with a malformed percent-encoding, no Host header',
      );
      // Answered by Node's HTTP server before any route runs, on every operation alike.
      responses[408] ??= problemResponse(
        ['request_timeout'],
        `the request took more than ${HTTP_TIMEOUTS.requestMs / 1000} s to arrive (its headers more than ${HTTP_TIMEOUTS.headersMs / 1000} s); the connection is closed`,
      );
      responses[417] ??= problemResponse(
        ['validation_failed'],
        'an Expect header other than 100-continue; the connection is closed',
      );
      responses[431] ??= problemResponse(
        ['payload_too_large'],
        `the request's headers are larger than ${maxHeaderSize / 1024} KiB; the connection is closed`,
      );
      if (method !== 'get') {
        const body = operation.requestBody ? 'the body' : 'a body (this operation takes none)';
        responses[ERROR_CODES.payload_too_large.status] ??= problemResponse(
          ['payload_too_large'],
          `${body} is larger than BODY_LIMIT_BYTES`,
        );
        responses[ERROR_CODES.unsupported_media_type.status] ??= problemResponse(
          ['unsupported_media_type'],
          `${body} is not application/json in UTF-8, or is compressed (Content-Encoding)`,
        );
      } else {
        responses[ERROR_CODES.unsupported_media_type.status] ??= problemResponse(
          ['unsupported_media_type'],
          'the request declares a Content-Encoding (compressed requests are not accepted)',
        );
      }
      // An optional-auth route (it also lists the empty requirement) serves an API key's bearer
      // as anonymous, so no 403 comes from a key there.
      const security = operation.security ?? [];
      const authenticated =
        security.some((scheme) => 'bearer' in scheme) &&
        !security.some((scheme) => Object.keys(scheme).length === 0);
      if (authenticated) {
        responses[ERROR_CODES.forbidden.status] ??= problemResponse(
          ['forbidden'],
          'an API key (X-API-Key) on a route that does not accept one with its scopes',
        );
      }
      const extensions = operation as unknown as Record<string, unknown>;
      if (!extensions[WITHOUT_DATABASE]) {
        responses[ERROR_CODES.service_unavailable.status] ??= problemResponse(
          ['service_unavailable'],
          'the database cannot be reached, or the service is saturated; answered within 5 s',
        );
      }
      delete extensions[WITHOUT_DATABASE];
    }
  }
}
