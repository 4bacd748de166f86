# syntax=docker/dockerfile:1
# The scheduler: folds execution logs and dispatches ready nodes.
# Build from the repository root: docker build -f deploy/docker/scheduler.Dockerfile .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

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
# The `flowmaestro` command carries the service entry points (`flowmaestro scheduler`,
# and `flowmaestro setup` for the one-off creation of streams and consumers).
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
COPY deploy/docker/healthcheck.py /app/healthcheck.py
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 FLOWMAESTRO_HOME=/tmp/flowmaestro
WORKDIR /app
USER 10001:10001
# Healthy while the NATS server it works through accepts connections.
HEALTHCHECK --interval=15s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python", "/app/healthcheck.py"]
ENTRYPOINT ["flowmaestro"]
CMD ["scheduler"]
