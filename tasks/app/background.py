"""Frame I/O beside the networks: decoding ahead and drawing behind, each in one thread.

    for frame in read_ahead(frames, depth=2):     # frames decoded by a background thread
        ...
    with InOrderWorker(draw_and_write, depth=2) as drawer:
        drawer.submit(frame, result)             # runs in a background thread, in submit order

The joint command spends a frame's keypoint stage on one core (one crop runs on one thread),
and OpenCV decodes, draws and encodes without holding the GIL: reading the next frame and
drawing the last one in threads uses the idle core. Both stay a bounded number of frames away
from the caller, so memory does not grow with the video, and both raise their errors in the
caller's thread: the reader's after the frames before the failure, the worker's at a later
submit or at the end.
"""
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

_END = object()


def read_ahead(iterable, depth=2):
    """The items of ``iterable``, produced by a background thread at most ``depth`` items ahead.

    An exception of the iterable is raised here after the items before it. Closing this
    generator (a break, an exception, Ctrl-C in the caller) stops the thread at its next item."""
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)  # a camera read in progress ends with its frame


class InOrderWorker:
    """Calls ``function(*args)`` for each ``submit`` in one background thread, in submit order,
    with at most ``depth`` calls pending: ``submit`` waits for the oldest beyond that and raises
    its exception. Leaving the ``with`` block waits for every call (and raises the first error)."""

    def __init__(self, function, depth=2):
        self.function, self.depth = function, int(depth)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="in-order")
        self._pending = deque()

    def submit(self, *args):
        self._pending.append(self._pool.submit(self.function, *args))
        while len(self._pending) > self.depth:
            self._pending.popleft().result()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            while exc_type is None and self._pending:
                self._pending.popleft().result()
        finally:  # after an error: the call running finishes, the queued ones are dropped
            self._pool.shutdown(wait=True, cancel_futures=True)
        return False
