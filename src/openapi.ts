import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

import { z } from 'zod';
import { API_KEY_SECURITY } from './common/decorators/scopes.decorator';
import { ProblemSchema } from './common/openapi/problem.schema';
import { documentSharedProblems } from './common/openapi/shared-problems';

/** Swagger UI at /docs and the OpenAPI 3 document at /docs/json. */
export function setUpOpenApi(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Auth service')
      .setDescription(
        [
          'Sign-up, login, rotating refresh tokens, sessions and users for browser, mobile and',
          'backend clients. Every error is RFC 9457 problem details (application/problem+json)',
          'with a stable `code` to switch on.',
        ].join(' '),
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SECURITY)
      .build(),
  );
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, Problem: problemComponent() };
  documentSharedProblems(document);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/json',
    yamlDocumentUrl: 'docs/yaml',
  });
}

/**
 * The Problem schema as a component. Converted on its own, a schema with an id comes back as a
 * `$ref` into `definitions` beside it, which OpenAPI 3.0 ignores; converted as a registry, it
 * comes back as the component itself.
 */
function problemComponent(): object {
  const registry = z.registry<{ id: string }>();
  registry.add(ProblemSchema, { id: 'Problem' });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'openapi-3.0',
    uri: (id) => `#/components/schemas/${id}`,
  });
  const { $id: _id, ...problem } = schemas.Problem;
  return problem;
}
