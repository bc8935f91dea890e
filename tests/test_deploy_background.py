"""Decoding ahead and drawing behind in background threads (tasks.app.background)."""
import itertools
import threading
import time

import pytest

from tasks.app.background import InOrderWorker, read_ahead


def test_read_ahead_yields_every_item_in_order_from_another_thread():
    producers = []

    def numbers():
        for n in range(50):
            producers.append(threading.current_thread())
            yield n

    assert list(read_ahead(numbers(), depth=2)) == list(range(50))
    assert set(producers) != {threading.current_thread()}


def test_read_ahead_raises_the_error_after_the_items_before_it():
    def broken():
        yield from (1, 2)
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in read_ahead(broken()):
            got.append(item)
    assert got == [1, 2]


def test_read_ahead_stays_depth_items_ahead_and_stops_when_closed():
    produced = []

    def endless():
        for n in itertools.count():
            produced.append(n)
            yield n

    items = read_ahead(endless(), depth=3)
    assert next(items) == 0
    time.sleep(0.2)
    # taken 1, queued 3, one more waiting to be queued
    assert len(produced) <= 5
    items.close()
    count = len(produced)
    time.sleep(0.2)
    assert len(produced) == count
    assert not any(t.name == "read-ahead" for t in threading.enumerate())


def test_in_order_worker_calls_in_submit_order_in_one_other_thread():
    calls, threads = [], set()

    def record(n, pause):
        time.sleep(pause)
        calls.append(n)
        threads.add(threading.current_thread())

    with InOrderWorker(record, depth=3) as worker:
        for n in range(10):
            worker.submit(n, 0.01 * (n % 3))
    assert calls == list(range(10))
    assert len(threads) == 1 and threading.current_thread() not in threads


def test_in_order_worker_keeps_at_most_depth_calls_pending():
    release = threading.Event()
    started = []

    def wait(n):
        started.append(n)
        release.wait(5)

    worker = InOrderWorker(wait, depth=2)
    with worker:
        worker.submit(0)
        worker.submit(1)
        blocked = threading.Thread(target=worker.submit, args=(2,))
        blocked.start()
        blocked.join(0.2)
        assert blocked.is_alive()  # a third pending call waits for the first
        release.set()
        blocked.join(5)
    assert started == [0, 1, 2]


def test_in_order_worker_raises_a_call_error_at_submit_or_on_leaving():
    def fail_on_three(n):
        if n == 3:
            raise ValueError(f"cannot write frame {n}")

    with pytest.raises(ValueError, match="cannot write frame 3"):
        with InOrderWorker(fail_on_three, depth=1) as worker:
            for n in range(10):
                worker.submit(n)
    with pytest.raises(ValueError, match="cannot write frame 3"):
        with InOrderWorker(fail_on_three, depth=8) as worker:
            for n in range(4):
                worker.submit(n)
