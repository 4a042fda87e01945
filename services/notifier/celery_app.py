"""Celery entry point for the notifier (queue `notify`)."""

from shared.config import Settings
from shared.messaging import make_celery

celery_app = make_celery("liaison-notifier", Settings.from_env())
