"""Video: run the detector on every N-th frame only, and box each person in between by its
keypoints in the frame before (``tinypose-infer --det-interval N``).

A person moves little from one frame to the next, so the box around its keypoints, enlarged,
frames it in the next frame too: the detector is needed to find persons, not to follow them.
This is how real-time pose trackers save the detector's time (MediaPipe's pose tracking,
mmdeploy's ``PoseTracker`` ``det_interval``, rtmlib's ``det_frequency``). The price: a person
who enters the picture is found at the next detector frame, up to N - 1 frames late.
"""
import numpy as np

from tasks.app.boxes import xywh_to_xyxy
from tasks.detection.nms import multiclass_nms
from tasks.runtime.detector_predictor import person_boxes

KEYPOINT_THR = 0.3     # keypoints that outline a person's box score at least this
MIN_KEYPOINTS = 5      # fewer such keypoints: the person is lost (the next detector frame finds it again)
BOX_SCALE = 1.25       # keypoints lie inside the body (eyes, ankles, wrists): their box, enlarged about its centre
SAME_PERSON_IOU = 0.6  # followed boxes overlapping more are one person (the detector's NMS threshold)


def boxes_from_keypoints(keypoints, box_scores, image_size, *, keypoint_thr=KEYPOINT_THR,
                         min_keypoints=MIN_KEYPOINTS, scale=BOX_SCALE):
    """Each person's box from its keypoints.

    keypoints [N, K, 3] (x, y, score) in image pixels, box_scores [N] (kept as the boxes'
    scores), image_size (w, h) -> boxes [M, 5] float32 (x, y, w, h, score), M <= N: the box
    of the keypoints scoring at least ``keypoint_thr``, scaled by ``scale`` about its centre
    and clipped to the image, for each person with at least ``min_keypoints`` of them and a
    box at least a pixel wide and high inside the image.
    """
    box_scores = np.asarray(box_scores, np.float32).reshape(-1)
    keypoints = np.asarray(keypoints, np.float32)
    confident = keypoints[:, :, 2] >= keypoint_thr
    tracked = confident.sum(axis=1) >= max(int(min_keypoints), 1)
    keypoints, confident, box_scores = keypoints[tracked], confident[tracked, :, None], box_scores[tracked]
    low = np.where(confident, keypoints[:, :, :2], np.inf).min(axis=1)
    high = np.where(confident, keypoints[:, :, :2], -np.inf).max(axis=1)
    center, half = (low + high) / 2, (high - low) / 2 * scale
    top_left = np.maximum(center - half, 0)
    size = np.minimum(center + half, np.array(image_size, np.float32)) - top_left
    inside = (size >= 1).all(axis=1)   # keypoints all off the image leave no box
    return np.concatenate([top_left, size, box_scores[:, None]], axis=1)[inside].astype(np.float32)


class DetectorInterval:
    """A box source (``tasks.app.boxes``) for videos: ``source`` (the detector) on every
    ``interval``-th frame; on the frames between, each person's box from its keypoints in the
    frame before (``boxes_from_keypoints``). Two boxes of one person (a loose and a tight
    detection both drawn to its keypoints) become one: of boxes overlapping by an IoU above
    ``SAME_PERSON_IOU``, the best scoring is followed. The detector also runs when no person is
    followed, when frames do not follow each other, and on images. ``detected_frames`` counts
    its runs.

    ``tasks.app.joint.JointPipeline`` hands every frame's persons to ``follow``.
    """

    def __init__(self, source, interval, **box_options):
        if int(interval) < 1:
            raise ValueError(f"detector interval must be at least 1 frame, got {interval}")
        self.source, self.interval, self.box_options = source, int(interval), box_options
        self.detected_frames = 0
        self._detected_at = None
        self._followed = None     # (index of the next frame, its boxes) or None

    def __call__(self, frame):
        followed = self._followed
        if (frame.is_video_frame and followed is not None and followed[0] == frame.index
                and frame.index - self._detected_at < self.interval):
            return followed[1]
        self._detected_at = frame.index
        self.detected_frames += 1
        return self.source(frame)

    def follow(self, frame, boxes, keypoints):
        """The persons of ``frame`` (boxes [N, 5], keypoints [N, K, 3]) give the next frame's boxes."""
        height, width = frame.image.shape[:2]
        nxt = boxes_from_keypoints(keypoints, np.asarray(boxes, np.float32).reshape(-1, 5)[:, 4], (width, height),
                                   **self.box_options)
        if len(nxt) > 1:
            nxt = person_boxes(multiclass_nms(xywh_to_xyxy(nxt[:, :4]), nxt[None, :, 4], score_threshold=-1.0,
                                              nms_threshold=SAME_PERSON_IOU, nms_top_k=-1, keep_top_k=-1))
        self._followed = (frame.index + 1, nxt) if len(nxt) else None
