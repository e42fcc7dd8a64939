"""Celery tasks of messaging (queue "sms" by CELERY_TASK_ROUTES): thin wrappers over delivery."""
from __future__ import annotations

from celery import shared_task

from .delivery import deliver_messages


@shared_task(name="messaging.tasks.deliver_messages_task", acks_late=True, ignore_result=True)
def deliver_messages_task(message_ids: list[int]) -> dict:
    """Deliver a batch; messages held back by the provider's rate limit come back in a moment.
    Safe to run twice or concurrently: each message is claimed by exactly one run."""
    result = deliver_messages(message_ids)
    if result.deferred:
        deliver_messages_task.apply_async((result.deferred,), countdown=result.defer_seconds)
    return result.as_dict()


@shared_task(name="messaging.tasks.deliver_message", acks_late=True, ignore_result=True)
def deliver_message(message_id: int) -> dict:
    return deliver_messages_task(message_ids=[message_id])
