# The suite as a container: `docker run --rm -e CONFORMANCE_API_KEY -v "$PWD/reports:/reports" IMAGE
#   run --base-url https://api.example.com/ga/api --report-dir /reports`
# With no arguments after `run`, it certifies the bundled reference server.
FROM python:3.11-slim
WORKDIR /suite
COPY pyproject.toml README.md ./
COPY conformance ./conformance
COPY schemas ./schemas
RUN pip install --no-cache-dir . && useradd --create-home conformance
USER conformance
WORKDIR /home/conformance
ENTRYPOINT ["conformance"]
CMD ["run", "--report-dir", "/tmp/reports"]
