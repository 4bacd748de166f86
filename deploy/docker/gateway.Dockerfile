# syntax=docker/dockerfile:1
# The gateway (HTTP API, read-model projector) with the built UI.
# Build from the repository root: docker build -f deploy/docker/gateway.Dockerfile .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- the UI, from its lock file ---
FROM ${NODE_IMAGE} AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npx vite build --logLevel warn

# --- Python packages, exactly as locked in uv.lock ---
FROM ${PYTHON_IMAGE} AS build
RUN pip install --no-cache-dir --disable-pip-version-check uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs/ libs/
COPY services/ services/
COPY cli/ cli/
# The `flowmaestro` command carries the service entry points (`flowmaestro gateway`).
RUN uv sync --locked --no-dev --no-editable --package flowmaestro-cli
# Node plugins (docs/adding-a-node-type.md): PLUGINS lists requirement specifiers or
# folders under deploy/plugins/ or examples/plugins/ (space-separated), installed beside the
# lock with the shared dependencies held at their locked versions. Give the gateway,
# scheduler and executor images the same list: the gateway validates plugin nodes, the
# scheduler schedules them and (as `flowmaestro setup`) creates their consumers.
ARG PLUGINS=""
COPY deploy/plugins/ deploy/plugins/
COPY examples/plugins/ examples/plugins/
RUN if [ -n "$PLUGINS" ]; then \
      uv export --locked --no-dev --no-emit-workspace --no-hashes --format requirements-txt \
        > /tmp/locked.txt \
      && uv pip install --python /app/.venv/bin/python -c /tmp/locked.txt $PLUGINS; \
    fi

# --- the runtime image: no compiler, no uv, no sources, not root ---
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 flowmaestro \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin flowmaestro
COPY --from=build /app/.venv /app/.venv
COPY --from=ui /src/ui/dist /app/ui
COPY deploy/docker/healthcheck.py /app/healthcheck.py
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 \
    FLOWMAESTRO_HOME=/tmp/flowmaestro FLOWMAESTRO_UI_DIR=/app/ui \
    FLOWMAESTRO_GATEWAY_HOST=0.0.0.0 FLOWMAESTRO_GATEWAY_PORT=8000
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "/app/healthcheck.py", "http://127.0.0.1:8000/health"]
ENTRYPOINT ["flowmaestro"]
CMD ["gateway"]
