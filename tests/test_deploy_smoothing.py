"""tasks/app/smoothing.py: the IoU tracker keeps ids, the One-Euro filter calms a still
person and follows a moving one."""
import numpy as np

from tasks.app.smoothing import IouTracker, KeypointSmoother, OneEuroFilter

FPS = 12.0
HEIGHT = 170.0


def _person(x, y, joints=17):
    """Keypoints [K, 3] around (x, y) and its box x1y1x2y2 (HEIGHT high)."""
    offsets = np.stack([np.linspace(-20, 20, joints), np.linspace(-80, 80, joints)], axis=1)
    keypoints = np.concatenate([offsets + [x, y], np.full((joints, 1), 0.9)], axis=1).astype(np.float32)
    return keypoints, np.array([x - 40, y - HEIGHT / 2, x + 40, y + HEIGHT / 2])


def test_tracker_keeps_ids_swaps_nothing_and_forgets_old_tracks():
    tracker = IouTracker(min_iou=0.3, max_age=2)
    a, b = [10, 10, 60, 110], [200, 10, 250, 110]
    assert tracker.update([a, b], 0).tolist() == [0, 1]
    assert tracker.update([[205, 12, 255, 112], [12, 10, 62, 110]], 1).tolist() == [1, 0]  # order changed
    assert tracker.update([[400, 10, 450, 110]], 2).tolist() == [2]  # nobody it overlaps: new id
    assert tracker.update([[10, 10, 60, 110]], 5).tolist() == [3]    # track 0 unseen for 4 > 2 frames
    assert tracker.update(np.zeros((0, 4)), 6).tolist() == []


def test_still_person_jitter_is_removed():
    rng = np.random.default_rng(0)
    smoother = KeypointSmoother(FPS)
    still, box = _person(150, 120)
    raw, out = [], []
    for frame in range(60):
        noisy = still.copy()
        noisy[:, :2] += rng.normal(0, 1.0, (17, 2))  # heatmap-decoding jitter of ~1 px
        smoothed, ids = smoother(frame, box[None], noisy[None])
        assert ids.tolist() == [0] and np.array_equal(smoothed[0, :, 2], noisy[:, 2])  # scores untouched
        raw.append(noisy[:, :2])
        out.append(smoothed[0, :, :2])
    raw_err = np.abs(np.array(raw[10:]) - still[:, :2]).std()
    smooth_err = np.abs(np.array(out[10:]) - still[:, :2]).std()
    assert smooth_err < 0.6 * raw_err, (smooth_err, raw_err)
    assert np.abs(np.array(out[10:]).mean(axis=0) - still[:, :2]).max() < 0.5  # no drift


def test_moving_person_is_followed():
    smoother = KeypointSmoother(FPS)
    step = 15.0  # px per frame: 180 px/s, about one body height per second
    lags = []
    for frame in range(36):
        keypoints, box = _person(30 + step * frame, 120)
        smoothed, _ = smoother(frame, box[None], keypoints[None])
        lags.append((keypoints[:, 0] - smoothed[0, :, 0]).mean())
    assert lags[0] == 0  # the first frame is taken as it is
    assert 0 < lags[-1] < 0.4 * step, lags          # a fraction of one frame's motion behind
    assert abs(lags[-1] - lags[-5]) < 0.2            # a steady lag: it moves as fast as the person


def test_one_euro_filter_formula_on_a_step():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    assert f(np.array([0.0]), 0.0) == 0.0
    dt = 0.1
    alpha = 1 / (1 + 1 / (2 * np.pi * 1.0 * dt))  # beta 0: a plain low-pass at min_cutoff
    np.testing.assert_allclose(f(np.array([10.0]), dt), [10 * alpha])
    np.testing.assert_allclose(f(np.array([10.0]), 2 * dt), [10 * alpha + alpha * (10 - 10 * alpha)])
