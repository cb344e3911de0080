FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/kindred

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN pip install . && useradd --create-home --uid 1000 kindred && mkdir -p var && chown kindred var

USER kindred
EXPOSE 8000
# migrations first, then the server; several workers per container, more containers behind a proxy
CMD ["kindred", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
