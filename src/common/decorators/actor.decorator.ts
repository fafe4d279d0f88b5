import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { clientInfo, type ClientInfo } from '../client-info';
import type { Principal } from '../principal';

/** Who is doing something, as the audit trail records it. */
export interface Actor {
  userId: string;
  /** Undefined when the caller authenticated with an API key. */
  sessionId: string | undefined;
  client: ClientInfo;
}

/** The authenticated caller as an Actor (for routes whose service records audit events). */
export const CurrentActor = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Actor => {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user: Principal }>();
    return {
      userId: request.user.user.id,
      sessionId: request.user.sessionId,
      client: clientInfo(request),
    };
  },
);
