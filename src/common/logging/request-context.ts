import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
}

/** The request being served, for log lines written outside the request's own logger. */
export const requestContext = new AsyncLocalStorage<RequestContext>();
