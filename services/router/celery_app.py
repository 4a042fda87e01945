"""Celery entry point for the router (queues `route` and `sweep`) and for beat.

    celery -A services.router.celery_app worker -Q route,sweep
    celery -A services.router.celery_app beat        # one; a second one stands by
"""

from shared.bootstrap import check_before_consuming
from shared.config import Settings
from shared.messaging import SWEEP, SWEEP_QUEUE, make_celery

settings = Settings.from_env()
celery_app = make_celery("liaison-router", settings, log_as="router",
                         include=["services.router.tasks"])
check_before_consuming(settings)  # LIAISON_DURABILITY=fsync: refuse to start on a mismatch
celery_app.conf.beat_schedule = {
    "sweep": {
        "task": SWEEP,
        "schedule": float(settings.sweep_interval_seconds),
        # A sweep not started within two intervals is dropped: the next one does its work.
        "options": {"queue": SWEEP_QUEUE, "expires": settings.sweep_interval_seconds * 2},
    },
}
# beat's remote-control node (its compose health check) stops answering once the scheduler
# has not ticked for this long; it ticks at least every sweep interval.
celery_app.conf.beat_remote_control_max_tick_age = max(60, settings.sweep_interval_seconds * 4)
# Exactly one beat sends: the leader lease in Redis (services/router/beat.py). A second beat
# started by mistake sends nothing, says so in its log, and takes over if the first stops.
celery_app.conf.beat_scheduler = "services.router.beat:LeaderScheduler"
