"""Kombu's Redis transport, with acknowledgements that survive a Redis that hung (settings.CELERY_BROKER_TRANSPORT).

With late acknowledgement (settings.CELERY_TASK_ACKS_LATE) a worker acks a task once it has run, and kombu's Redis
QoS frees the worker's prefetch slot only after Redis confirmed the ack. When Redis hangs (SIGSTOP, a stalled host)
at that moment, the ack times out, Celery logs "Couldn't ack … TimeoutError" and goes on, but the slot is never
freed: with worker_prefetch_multiplier=1 the worker then takes no task ever again, while its process, its heartbeat
and its connection all look healthy (scripts/faults.py saw this). Here an ack that Redis did not take still frees
the slot at once, and is sent again later: before the next ack and every time the consumer looks for expired
messages (kombu does so every few seconds), until Redis answers it (the first try may still reach a Redis that
resumes, as its socket kept the bytes: removing a delivery tag twice is harmless). A worker that dies before then leaves the
message unacked in Redis, and kombu delivers it again after the visibility timeout, as for any worker lost.
"""

import logging

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._unconfirmed = []  # delivery tags whose ack Redis has not taken yet, oldest first

    def _send_unconfirmed(self):
        while self._unconfirmed:
            self._remove_from_indices(self._unconfirmed[0]).execute()
            self._unconfirmed.pop(0)

    def ack(self, delivery_tag):
        try:
            self._send_unconfirmed()
            self._remove_from_indices(delivery_tag).execute()
        except self.channel.connection_errors as exc:
            self._unconfirmed.append(delivery_tag)
            log.warning("ack of %s not taken by Redis (%s: %s): sent again later; %d waiting", delivery_tag,
                        type(exc).__name__, exc, len(self._unconfirmed))
        # kombu's own ack frees the slot only when the lines above did not raise
        virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if requeue:
            super().reject(delivery_tag, requeue=True)  # the message goes back to the queue: nothing is lost if it fails
        else:
            self.ack(delivery_tag)  # a rejected message is dropped: for Redis, the same as an ack

    def restore_visible(self, *args, **kwargs):
        if self._unconfirmed:
            try:
                self._send_unconfirmed()
            except self.channel.connection_errors:
                pass  # Redis is still away; the consumer's own calls notice it too
            else:
                log.info("acks that Redis had not taken are sent")
        return super().restore_visible(*args, **kwargs)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
