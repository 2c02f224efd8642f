#!/usr/bin/env bash
# Serve the web app with a Celery worker and beat beside it; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
trap 'kill 0' EXIT INT TERM
.venv/bin/celery -A ecrf worker --loglevel INFO --concurrency 2 --hostname "worker@%h" &
.venv/bin/celery -A ecrf beat --loglevel INFO &
echo
echo "  eCRF is running at http://127.0.0.1:${PORT}/  (health: http://127.0.0.1:${PORT}/health/)"
echo
.venv/bin/python manage.py runserver "127.0.0.1:${PORT}"
