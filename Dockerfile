# One image for every WOMS process: `woms serve <service>`, `woms worker <tenant>`,
# `woms relay <tenant>`, `woms reporting consume`, `woms tenant onboard` (infra/k8s).
# Build (docs/operations.md):  docker build -t woms:0.1.0 .
# The base is pinned to an exact tag (both stages); add its digest (`@sha256:...`) to both
# FROM lines when the registry is reachable (docs/operations.md).

# --- build: install the project and its dependencies (wheels only) into /opt/venv
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ONLY_BINARY=:all:
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services services
COPY workflows workflows
COPY woms woms
RUN pip install --no-cache-dir --no-binary=woms . \
    && pip uninstall --yes pip setuptools wheel

# --- runtime: no compiler, no pip; the source tree at /app (migrations, policies) first on the path
FROM python:3.11.13-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 woms \
    && useradd --system --uid 10001 --gid woms --home-dir /var/lib/woms --no-create-home \
       --shell /usr/sbin/nologin woms \
    && rm -rf /usr/local/lib/python3.11/site-packages/pip /usr/local/lib/python3.11/site-packages/pip-* \
       /usr/local/bin/pip /usr/local/bin/pip3 /usr/local/bin/pip3.11
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY services services
COPY workflows workflows
COPY woms woms
COPY policies policies
RUN python -m compileall -q /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WOMS_HOME=/var/lib/woms
USER 10001:10001
EXPOSE 8101 8102 8103 8104
# Kubernetes probes GET /health (liveness) and /ready (readiness) of the API processes.
HEALTHCHECK NONE
ENTRYPOINT ["woms"]
CMD ["--help"]
