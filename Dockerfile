# newswire: multi-stage build on a slim Python base; locked, hash-checked dependencies;
# runs as a non-root user under tini (PID 1 forwards signals, reaps the worker processes);
# state on a volume.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/newswire
COPY requirements.lock /tmp/requirements.lock
RUN /opt/newswire/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY services /src/services
RUN /opt/newswire/bin/pip install --no-deps /src

FROM python:3.11-slim-bookworm
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/newswire --create-home newswire
COPY --from=build /opt/newswire /opt/newswire
COPY config /etc/newswire
ENV PATH=/opt/newswire/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NEWSWIRE_CONFIG_DIR=/etc/newswire \
    NEWSWIRE_STATE__DIR=/var/lib/newswire \
    NEWSWIRE_METRICS__HOST=0.0.0.0 \
    NEWSWIRE_METRICS__PORT=9464
USER 10001:10001
WORKDIR /var/lib/newswire
VOLUME ["/var/lib/newswire"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status != 200)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "newswire"]
CMD ["run"]
