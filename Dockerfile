FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY connectors ./connectors
COPY sandboxes ./sandboxes
# streams/schemas and streams/inbox/runbook.md link here: `pip install .` ships the files they point to.
COPY schemas ./schemas
COPY docs ./docs
RUN pip install --no-cache-dir . && useradd --create-home --uid 1000 editsync
USER editsync
ENV EDITSYNC_WEB_HOST=0.0.0.0 EDITSYNC_DATA_DIR=/home/editsync/data
EXPOSE 6066
ENTRYPOINT ["editsync"]
CMD ["run"]
