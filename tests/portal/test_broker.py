"""portal/broker.py: an ack that meets a hung Redis (SIGSTOP) frees the consumer's prefetch slot at once and reaches
Redis once it answers again; kombu's own transport keeps the slot taken, so a worker with prefetch 1 would take no task
ever again. A redis-server of the test's own on a free port (it is stopped and continued)."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from kombu import Connection

OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "visibility_timeout": 3600}


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("needs the redis-server program (CI has it)")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            with Connection(url, connect_timeout=0.5) as probe:
                probe.ensure_connection(max_retries=1)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    yield url, process
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    process.wait(10)


def take_one(url, transport):
    """A consumer's channel with prefetch 1 that has taken one message (not acked yet)."""
    connection = Connection(url, transport=transport, transport_options=OPTIONS)
    channel = connection.default_channel
    queue = connection.SimpleQueue("portal-test", channel=channel)
    queue.put({"n": 1})
    channel.basic_qos(0, 1, False)
    message = queue.get(timeout=2)
    assert not channel.qos.can_consume()  # the slot is taken until the ack
    return connection, channel, message


def unacked(url):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2).hlen("unacked")


def test_an_ack_that_meets_a_hung_redis_frees_the_slot_and_reaches_redis_later(own_redis):
    url, server = own_redis
    connection, channel, message = take_one(url, "portal.broker:Transport")
    os.kill(server.pid, signal.SIGSTOP)
    try:
        message.ack()  # times out inside; no exception reaches the consumer
        assert channel.qos.can_consume()
    finally:
        os.kill(server.pid, signal.SIGCONT)
    channel.qos.restore_visible()  # what the consumer runs every few seconds: the ack is sent again
    assert unacked(url) == 0 and not channel.qos._unconfirmed
    connection.release()


def test_kombu_alone_keeps_the_slot_taken_after_such_an_ack(own_redis):
    """Why portal/broker.py exists: with kombu's own transport the failed ack raises (Celery logs "Couldn't ack" and
    goes on) and the slot stays taken for good."""
    url, server = own_redis
    connection, channel, message = take_one(url, "redis")
    os.kill(server.pid, signal.SIGSTOP)
    try:
        with pytest.raises(connection.connection_errors):
            message.ack()
        assert not channel.qos.can_consume()
    finally:
        os.kill(server.pid, signal.SIGCONT)
    connection.release()
