/** Node's HTTP timeouts: slow or idle clients cannot hold sockets (slowloris). */
export const HTTP_TIMEOUTS = {
  headersMs: 10_000,
  requestMs: 15_000,
  /** Longer than the usual 60 s idle timeout of load balancers, so they close first. */
  keepAliveMs: 65_000,
} as const;
