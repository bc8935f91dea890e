"""Temporal smoothing of keypoints on video: a small IoU tracker gives each person an id,
and a One-Euro filter per tracked person smooths its joints.

One-Euro filter (Casiez et al., CHI 2012): an exponential low-pass whose cut-off rises with
the speed of the signal, so a still joint is strongly smoothed (its jitter removed) while a
moving one is followed with little lag:

    alpha(fc, dt) = 1 / (1 + 1 / (2 pi fc dt))
    dx_hat = lowpass(dx / dt, alpha(d_cutoff, dt))
    fc = min_cutoff + beta * |dx_hat|
    x_hat = lowpass(x, alpha(fc, dt))

Speeds are in person heights per second (the joint speed in pixels divided by the height of
the person's box), so the same numbers suit near and far persons.
"""
import numpy as np

from tasks.detection.nms import pairwise_iou


def _alpha(cutoff, dt):
    return 1.0 / (1.0 + 1.0 / (2 * np.pi * cutoff * dt))


class OneEuroFilter:
    """One-Euro filter of an array signal (every element filtered on its own)."""

    def __init__(self, min_cutoff=1.0, beta=1.0, d_cutoff=1.0):
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self._x = self._dx = self._t = None

    def __call__(self, x, t, scale=1.0):
        """Filtered ``x`` at time ``t`` (seconds); ``scale`` divides the speed (e.g. the box height)."""
        x = np.asarray(x, np.float64)
        if self._x is None or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x
        dt = t - self._t
        dx = self._dx + _alpha(self.d_cutoff, dt) * ((x - self._x) / dt - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(dx) / scale
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._dx, self._t = dx, t
        return self._x


class IouTracker:
    """Ids for the person boxes of consecutive frames: each box takes the id of the free
    track it overlaps most (IoU >= ``min_iou``), best pairs first; others start new tracks;
    a track unseen for more than ``max_age`` frames is dropped."""

    def __init__(self, min_iou=0.3, max_age=5):
        self.min_iou, self.max_age = float(min_iou), int(max_age)
        self._tracks = {}  # id -> (box x1y1x2y2, last frame index)
        self._next_id = 0

    @property
    def active_ids(self):
        return set(self._tracks)

    def update(self, boxes_xyxy, frame_index):
        """boxes [N, 4] x1y1x2y2 of frame ``frame_index`` -> their track ids [N] (int)."""
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        self._tracks = {i: t for i, t in self._tracks.items() if frame_index - t[1] <= self.max_age}
        track_ids = list(self._tracks)
        pairs = []
        if track_ids:
            ious = pairwise_iou(boxes, np.array([self._tracks[i][0] for i in track_ids]))
            pairs = [(ious[b, k], b, t) for b in range(len(boxes)) for k, t in enumerate(track_ids)
                     if ious[b, k] >= self.min_iou]
        ids = [None] * len(boxes)
        taken = set()
        for _, b, t in sorted(pairs, key=lambda p: -p[0]):
            if ids[b] is None and t not in taken:
                ids[b] = t
                taken.add(t)
        for b, box in enumerate(boxes):
            if ids[b] is None:
                ids[b], self._next_id = self._next_id, self._next_id + 1
            self._tracks[ids[b]] = (box, frame_index)
        return np.array(ids, dtype=np.int64)


class KeypointSmoother:
    """Tracks the persons of a video and smooths each one's joints (module docstring).

    fps: the video's frame rate (time between frames). min_cutoff (Hz) and beta set how
    much a still joint is smoothed and how fast the filter opens up with speed.
    """

    def __init__(self, fps, min_cutoff=1.0, beta=5.0, d_cutoff=1.0, min_iou=0.3, max_age=5):
        self.fps = float(fps)
        self.tracker = IouTracker(min_iou, max_age)
        self._filter_args = (min_cutoff, beta, d_cutoff)
        self._filters = {}

    def __call__(self, frame_index, boxes_xyxy, keypoints):
        """(smoothed keypoints [N, K, 3] float32 (scores unchanged), track ids [N])."""
        ids = self.tracker.update(boxes_xyxy, frame_index)
        self._filters = {i: f for i, f in self._filters.items() if i in self.tracker.active_ids}
        smoothed = np.array(keypoints, dtype=np.float32, copy=True).reshape(len(ids), -1, 3)
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        for n, track_id in enumerate(ids.tolist()):
            one_euro = self._filters.setdefault(track_id, OneEuroFilter(*self._filter_args))
            height = max(boxes[n, 3] - boxes[n, 1], 1.0)
            smoothed[n, :, :2] = one_euro(smoothed[n, :, :2], frame_index / self.fps, scale=height)
        return smoothed, ids
