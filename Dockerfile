# runbook-router service image.
#   docker build -t runbook-router:0.1.0 .           (official slim Python base)
#   buildah bud --build-arg BASE=localhost/debian-python .   (any Debian with python3-venv)
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python3 -m venv /opt/router
COPY pyproject.toml README.md ./
COPY router ./router
RUN /opt/router/bin/pip install --no-cache-dir . \
 && /opt/router/bin/runbook-router --help > /dev/null

FROM ${BASE}
ENV PATH=/opt/router/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROUTER_CONFIG=/etc/runbook-router/routes.yaml \
    ROUTER_RUNBOOKS=/etc/runbook-router/runbooks \
    ROUTER_DATABASE_URL=sqlite:////var/lib/runbook-router/router.db \
    ROUTER_LOG_FORMAT=json
COPY --from=build /opt/router /opt/router
# Example config; mount your own routes.yaml and runbooks/ over these paths.
COPY routes.yaml /etc/runbook-router/routes.yaml
COPY runbooks /etc/runbook-router/runbooks
RUN mkdir -p /var/lib/runbook-router && chown 10001:10001 /var/lib/runbook-router
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["runbook-router"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
