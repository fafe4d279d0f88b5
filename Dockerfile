# syntax=docker/dockerfile:1

# --- build: install everything, generate the Prisma client, compile, then drop dev dependencies.
# Node 24, the active LTS line (the code itself runs on Node >= 20.19, see package.json).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --omit=optional --ignore-scripts

# --- runtime: compiled code, production dependencies and the migrations; no compiler, no
# embedded PostgreSQL (a container always has DATABASE_URL), and not root.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
RUN groupadd --system --gid 10001 auth \
 && useradd --system --uid 10001 --gid auth --home-dir /app --shell /usr/sbin/nologin auth
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma/migrations ./prisma/migrations
USER auth
EXPOSE 3000
# Liveness: a database outage makes the service not ready (503 on /health/ready), which is for load
# balancers; it is no reason to replace the container. An empty PORT means the default, as in the
# service's configuration; HOST must include the loopback interface (0.0.0.0, the default, does).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Applies pending migrations, seeds the first superuser on an empty database, then serves.
CMD ["node", "dist/main.js"]
