# Image for the Dagster code location, webserver and daemon (docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 DAGSTER_HOME=/opt/dagster/home
WORKDIR /opt/synth-pipeline
COPY pyproject.toml README.md ./
COPY synth_pipeline ./synth_pipeline
COPY specs ./specs
RUN pip install -e . && mkdir -p "$DAGSTER_HOME"
COPY dagster.yaml "$DAGSTER_HOME/dagster.yaml"
COPY docker/workspace.yaml /opt/dagster/workspace.yaml
EXPOSE 4000 3000
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "4000", "-m", "synth_pipeline.definitions"]
