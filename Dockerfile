# mockflow as a CI service container, configured only by MOCKFLOW_* variables
# (MOCKFLOW_PORT, MOCKFLOW_AUTH, MOCKFLOW_FIXTURES, MOCKFLOW_CONTROL_TOKEN, MOCKFLOW_SEED, ...).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mockflow ./mockflow
COPY fixtures ./fixtures
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${BASE}
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels && useradd --create-home mockflow
USER mockflow
ENV MOCKFLOW_HOST=0.0.0.0 MOCKFLOW_PORT=8080
EXPOSE 8080
# Follows the configured port; needs nothing but the image's own Python.
HEALTHCHECK --interval=5s --timeout=3s --retries=5 \
  CMD python -c "import os, sys, urllib.request; port = os.environ.get('MOCKFLOW_PORT', '8080'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/api/v1/health').status != 200)"
CMD ["mockflow", "serve"]
