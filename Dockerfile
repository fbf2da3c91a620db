# Bluelight API on the embedded SQLite store (set BLUELIGHT_STORE=mongodb://... for MongoDB).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BLUELIGHT_HOST=0.0.0.0 BLUELIGHT_PORT=8080 BLUELIGHT_DATA_DIR=/data

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app bluelight \
    && mkdir -p /data && chown bluelight /data

# Dependencies first (pinned in pyproject.toml), so code changes reuse this layer.
COPY pyproject.toml ./
COPY server/__init__.py server/__init__.py
RUN pip install --no-cache-dir . && rm -rf build *.egg-info

COPY openapi.yaml ./
COPY server ./server
# PYTHONDONTWRITEBYTECODE stops the server writing bytecode at run time, so compile it
# here: otherwise every start compiles every module again (about 0.1 s of start-up).
RUN python -m compileall -q server

USER bluelight
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
CMD ["python", "-m", "server", "serve"]
