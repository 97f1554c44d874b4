# The image of the operator and the API (`shipway manifests --image ...`). Not built by the tests.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --uid 10001 --no-create-home shipway
USER 10001
ENTRYPOINT ["shipway"]
