# anchorcred: one image for both services (the command picks the service; docker-compose.yml runs both).
#   verifier (default): uvicorn --factory verifier.service.app:create_app, port 8080
#   issuer:             uvicorn --factory issuer.service.app:create_app, port 8081 (UVICORN_PORT=8081)
# No test tools, no secret: every setting comes from the environment at run time (VERIFIER_*, ISSUER_*, UVICORN_*).

# ── build: the project and its runtime extras into a virtualenv ─────────────────────────────────────────────────
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/anchorcred
WORKDIR /src
# What the package build reads (pyproject names README.md as the readme) and the packages it installs.
COPY pyproject.toml README.md anchorcred_cli.py ./
COPY verifier ./verifier
COPY issuer ./issuer
COPY contracts ./contracts
COPY wallet ./wallet
COPY ebsi ./ebsi
# A plain (non-editable) install: the running image reads only the installed package, so a file missing from the
# package data fails here, in the image, as it would for any user installing it.
RUN /opt/anchorcred/bin/pip install '.[issuer,service]'

# ── run ──────────────────────────────────────────────────────────────────────────────────────────────────────────
FROM python:3.11-slim
ENV PATH=/opt/anchorcred/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    UVICORN_HOST=0.0.0.0 UVICORN_PORT=8080 \
    ISSUER_DATA_DIR=/data
# A fixed, unprivileged user; /data (a named volume in compose) is its only writable place.
RUN groupadd --system --gid 10001 anchorcred \
 && useradd --system --uid 10001 --gid anchorcred --home-dir /data --no-create-home --shell /usr/sbin/nologin anchorcred \
 && mkdir -p /data && chown anchorcred:anchorcred /data && chmod 0700 /data
COPY --from=build /opt/anchorcred /opt/anchorcred
# The example achievement and roster, for the demo tenant (read-only).
COPY examples /app/examples
WORKDIR /app
USER anchorcred:anchorcred
EXPOSE 8080 8081
# Both services answer GET /health; the port is the one uvicorn listens on (UVICORN_PORT). No curl in a slim image:
# urllib raises on a refused connection or a non-2xx answer, which makes the exit status 1.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('UVICORN_PORT', '8080') + '/health', timeout=4)"]
CMD ["uvicorn", "--factory", "verifier.service.app:create_app"]
