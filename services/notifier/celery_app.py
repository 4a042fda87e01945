"""Celery entry point for the notifier (queue `notify`).

`celery -A services.notifier.celery_app worker -Q notify` finds the task through the
import at the bottom. Building the app connects to nothing.
"""

from shared.config import Settings
from shared.messaging import make_celery

celery_app = make_celery("liaison-notifier", Settings.from_env(), log_as="notifier")

from services.notifier import tasks  # noqa: E402,F401  (registers the task on celery_app)
