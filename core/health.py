"""Broker health check: connects to the Celery broker without needing a worker."""
import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable


@dataclasses.dataclass
class Broker(HealthCheck):
    def run(self):
        from celery import current_app as app  # the project's app (memberhub.celery); core imports no project module

        if app.conf.task_always_eager:
            return  # tasks run in-process (embedded default): there is no broker to reach
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
        except Exception as exc:  # kombu raises transport-specific errors
            raise ServiceUnavailable("Broker unreachable") from exc
