"""Celery entry point for the notifier (queue `notify`).

    celery -A services.notifier.celery_app worker -Q notify

The task module is registered with `include=` (imported by the worker after the app is
built). Building the app connects to nothing.
"""

from shared.bootstrap import check_before_consuming
from shared.config import Settings
from shared.messaging import make_celery

settings = Settings.from_env()
celery_app = make_celery("liaison-notifier", settings, log_as="notifier",
                         include=["services.notifier.tasks"])
check_before_consuming(settings)  # LIAISON_DURABILITY=fsync: refuse to start on a mismatch
