# One image for web, worker and beat; scripts/serve.sh picks the service.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH DJANGO_SETTINGS_MODULE=ecrf.settings.production
RUN pip install --no-cache-dir uv && useradd --create-home ecrf
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY . .
RUN mkdir -p /app/var/exports && chown -R ecrf /app/var
USER ecrf
EXPOSE 8000
CMD ["scripts/serve.sh", "web"]
