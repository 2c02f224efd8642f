"""Project package: settings, URL routing, Celery app and cross-cutting pieces."""

from ecrf.celery import app as celery_app

__all__ = ["celery_app"]
