# One image for web, worker and beat; scripts/serve.sh picks the service.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH DJANGO_SETTINGS_MODULE=ecrf.settings.production
# Pango and its fonts: WeasyPrint prints the casebook PDFs with them.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 \
    libpangoft2-1.0-0 fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv && useradd --create-home ecrf
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY . .
RUN mkdir -p /app/var/exports && chown -R ecrf /app/var
USER ecrf
EXPOSE 8000
CMD ["scripts/serve.sh", "web"]
