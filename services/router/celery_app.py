"""Celery entry point for the router (queues `route` and `sweep`) and beat."""

from shared.config import Settings
from shared.messaging import make_celery

celery_app = make_celery("liaison-router", Settings.from_env())
