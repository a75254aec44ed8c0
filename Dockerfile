# mockflow as a CI service container: configure it with MOCKFLOW_* variables
# (MOCKFLOW_AUTH, MOCKFLOW_FIXTURES, MOCKFLOW_EXPOSE_CONFIG, MOCKFLOW_VALIDATION, MOCKFLOW_SEED).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mockflow ./mockflow
COPY fixtures ./fixtures
RUN pip install --no-cache-dir . && useradd --create-home mockflow
USER mockflow
ENV MOCKFLOW_HOST=0.0.0.0 MOCKFLOW_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/api/v1/health').status != 200)"
CMD ["mockflow", "serve"]
