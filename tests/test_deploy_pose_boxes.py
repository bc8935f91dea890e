"""Boxes from keypoints and the detector run on every N-th video frame (``--det-interval``)."""
import numpy as np
import pytest

from tasks.app.media import Frame
from tasks.app.pose_boxes import DetectorInterval, boxes_from_keypoints

IMAGE = np.zeros((240, 320, 3), np.uint8)


def _person(points, score=0.9):
    return [[x, y, score] for x, y in points]


def test_box_of_the_confident_keypoints_enlarged_about_its_centre_and_clipped():
    outline = [(100, 50), (140, 50), (100, 150), (140, 150), (120, 100)]
    near_edge = [(2, 200), (40, 200), (2, 238), (40, 238), (20, 220)]
    keypoints = [_person(outline) + [[300, 10, 0.1]],     # a stray keypoint under the threshold
                 _person(near_edge) + [[20, 220, 0.9]]]
    boxes = boxes_from_keypoints(keypoints, [0.8, 0.6], (320, 240), scale=1.5)
    # 40 x 100 about (120, 100), x 1.5 -> 60 x 150
    np.testing.assert_allclose(boxes[0], [90, 25, 60, 150, 0.8])
    # 38 x 38 about (21, 219), x 1.5 -> 57 x 57, clipped at the left and bottom edges
    np.testing.assert_allclose(boxes[1], [0, 190.5, 49.5, 49.5, 0.6])


def test_a_person_with_too_few_keypoints_or_off_the_image_is_lost():
    few = _person([(10, 10), (20, 20)]) + _person([(30, 30)] * 4, score=0.2)
    off = _person([(-50, 10), (-40, 20), (-45, 30), (-42, 40), (-48, 50), (-41, 60)])
    kept = _person([(10, 10), (20, 20), (30, 30), (40, 40), (50, 50), (60, 60)])
    boxes = boxes_from_keypoints([few, off, kept], [0.9, 0.8, 0.7], (320, 240), min_keypoints=5)
    assert boxes.shape == (1, 5) and boxes[0, 4] == pytest.approx(0.7)
    assert boxes_from_keypoints(np.zeros((0, 17, 3)), [], (320, 240)).shape == (0, 5)


class _CountingDetector:
    """A box source that records the frames it ran on and boxes one fixed person."""

    def __init__(self):
        self.frames = []

    def __call__(self, frame):
        self.frames.append(frame.index)
        return np.array([[100, 50, 40, 100, 0.9]], np.float32)


def _persons(boxes, tracked=True):
    """Keypoints at the corners and centre of each box, confident when ``tracked``."""
    people = []
    for x, y, w, h, _ in boxes:
        corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h), (x + w / 2, y + h / 2)]
        people.append(_person(corners, 0.9 if tracked else 0.1))
    return np.array(people, np.float32).reshape(-1, 5, 3)


def _run(source, frames, tracked=lambda index: True):
    """Each frame's boxes, with the frame's persons shown to ``source.follow`` as the pipeline does."""
    out = []
    for frame in frames:
        boxes = source(frame)
        source.follow(frame, boxes, _persons(boxes, tracked(frame.index)))
        out.append(boxes)
    return out


def _video(indices):
    return [Frame(i, f"clip.mp4#{i}", IMAGE, is_video_frame=True) for i in indices]


def test_the_detector_runs_every_nth_frame_and_keypoints_box_the_frames_between():
    detector = _CountingDetector()
    source = DetectorInterval(detector, 3, scale=1.0)
    boxes = _run(source, _video(range(8)))
    assert detector.frames == [0, 3, 6] and source.detected_frames == 3
    for followed in boxes[1:3] + boxes[4:6] + boxes[7:]:   # corners of the box -> the same box
        np.testing.assert_allclose(followed, [[100, 50, 40, 100, 0.9]])


def test_the_detector_runs_when_nobody_is_followed_or_frames_do_not_follow():
    detector = _CountingDetector()
    source = DetectorInterval(detector, 4)
    _run(source, _video([0, 1, 2, 5, 6]), tracked=lambda index: index != 1)
    # frame 1's person is lost -> frame 2 detects; 5 does not follow 2 -> detects
    assert detector.frames == [0, 2, 5]
    images = [Frame(i, f"{i}.png", IMAGE) for i in range(3)]
    detector.frames.clear()
    _run(source, images)
    assert detector.frames == [0, 1, 2]


def test_two_boxes_drawn_to_one_persons_keypoints_are_followed_as_one():
    loose_and_tight = np.array([[60, 20, 120, 200, 0.55], [100, 50, 40, 100, 0.7]], np.float32)
    source = DetectorInterval(lambda frame: loose_and_tight, 4, scale=1.0)
    frames = _video(range(2))
    source(frames[0])
    one_body = _persons(loose_and_tight[1:])
    source.follow(frames[0], loose_and_tight, np.concatenate([one_body, one_body]))
    np.testing.assert_allclose(source(frames[1]), [[100, 50, 40, 100, 0.7]])


def test_the_interval_is_at_least_one_frame():
    with pytest.raises(ValueError, match="at least 1"):
        DetectorInterval(_CountingDetector(), 0)
