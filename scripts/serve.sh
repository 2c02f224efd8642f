#!/bin/sh
# Start one deployed service: web (gunicorn), worker or beat. docker-compose.yml runs these.
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
  web)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput --verbosity 0
    # WEB_TIMEOUT: seconds a request may take before its worker is restarted (gunicorn's
    # default of 30 would cut a long page off); WEB_MAX_REQUESTS recycles workers.
    exec gunicorn ecrf.wsgi:application \
      --bind "${BIND:-0.0.0.0:8000}" --workers "${WEB_CONCURRENCY:-3}" \
      --threads "${WEB_THREADS:-1}" --timeout "${WEB_TIMEOUT:-60}" \
      --graceful-timeout "${WEB_GRACEFUL_TIMEOUT:-30}" --keep-alive "${WEB_KEEPALIVE:-5}" \
      --max-requests "${WEB_MAX_REQUESTS:-1000}" \
      --max-requests-jitter "${WEB_MAX_REQUESTS_JITTER:-100}" \
      --access-logfile - --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
    ;;
  worker)
    # WORKER_QUEUES: the queues to consume, comma-separated (default: the project's queue).
    exec celery -A ecrf worker --loglevel "${LOG_LEVEL:-INFO}" \
      --concurrency "${WORKER_CONCURRENCY:-2}" --hostname "worker@%h" \
      ${WORKER_QUEUES:+--queues "$WORKER_QUEUES"}
    ;;
  beat)
    exec celery -A ecrf beat --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  *)
    echo "usage: $0 web|worker|beat" >&2
    exit 2
    ;;
esac
