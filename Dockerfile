# mockflow as a CI service container, configured only by MOCKFLOW_* variables (the README's settings
# table; docs/container.md). Nothing BuildKit-only in it, so the legacy builder builds it too.
#
#   docker build -t mockflow .                                   # dependencies from PyPI
#   docker build -t mockflow --build-arg PIP_OPTIONS="--no-index --find-links=wheelhouse" .
#                                                                # offline: from ./wheelhouse in the context
#
# BASE is any image with python3 >= 3.11 and its venv module (python:3.11-slim, or Debian bookworm with
# python3-venv); the runtime stage needs only python3, so the build tools stay in the build stage.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ARG PIP_OPTIONS=""
WORKDIR /src
# .dockerignore lets through the package, its fixtures and an optional wheelhouse/, nothing else.
COPY . .
# PIP_OPTIONS stays unquoted on purpose: it is a list of pip options. The installers leave with the
# build stage: the runtime needs neither pip nor setuptools.
RUN python3 -m venv /opt/mockflow \
 && /opt/mockflow/bin/python -m pip install --no-cache-dir --disable-pip-version-check ${PIP_OPTIONS} . \
 && /opt/mockflow/bin/python -m pip uninstall --yes --quiet pip setuptools

FROM ${BASE}
# A fixed numeric uid, so `runAsNonRoot` admission checks can tell it is not root.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mockflow
COPY --from=build /opt/mockflow /opt/mockflow
USER 10001:10001
ENV PATH=/opt/mockflow/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOCKFLOW_HOST=0.0.0.0 \
    MOCKFLOW_PORT=8080
EXPOSE 8080
# Follows MOCKFLOW_PORT and needs nothing but the image's own Python (no curl); urlopen fails on any
# answer but 2xx, and on no answer.
HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('MOCKFLOW_PORT', '8080'), timeout=2)"
# Exec form: mockflow is PID 1 and gets SIGTERM itself; it stops gracefully and exits 0.
CMD ["mockflow", "serve"]
