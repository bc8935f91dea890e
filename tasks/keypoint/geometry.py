"""Top-down geometry: person box -> (center, scale), the UDP crop warp and its
inverse, and the horizontal flip test.

Conventions (PaddleDetection's):
- ``center`` is the box centre (x, y) in source-image pixels, ``scale`` is the
  crop size (w, h) divided by ``pixel_std`` (200), so the crop covers
  ``scale * 200`` source pixels.
- ``input_size`` is (w, h) of the network input, e.g. (96, 128).
- UDP (unbiased data processing, Huang et al. CVPR 2020) maps the crop's pixel
  *centres* onto each other: source span ``scale * 200`` -> ``input_size - 1``.
"""
import numpy as np

PIXEL_STD = 200.0
BOX_PADDING = 1.25

# COCO order (docs/data.md): left/right pairs and the upper-body joints.
COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
COCO_UPPER_BODY_IDS = tuple(range(11))


def clip_boxes_xywh(boxes, widths, heights):
    """Clip COCO boxes [N, 4] (x, y, w, h) to their images the way PaddleDetection does.

    Its boxes use the inclusive "-1" convention, and x2 is measured from the
    clipped x1: x1 = max(0, x), x2 = min(width - 1, x1 + w - 1) (likewise y),
    so a box sticking out on the left or top is shifted in rather than cut.
    Returns (boxes [N, 4] float64 as [x1, y1, x2 - x1, y2 - y1], valid [N]): a box
    is invalid when x2 < x1 or y2 < y1 (it lies right of or below the image).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1, y1 = np.maximum(0.0, boxes[:, 0]), np.maximum(0.0, boxes[:, 1])
    x2 = np.minimum(np.asarray(widths, np.float64) - 1.0, x1 + np.maximum(0.0, boxes[:, 2] - 1.0))
    y2 = np.minimum(np.asarray(heights, np.float64) - 1.0, y1 + np.maximum(0.0, boxes[:, 3] - 1.0))
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1), (x2 >= x1) & (y2 >= y1)


def boxes_to_centers_scales(boxes, input_size, pixel_std=PIXEL_STD, padding=BOX_PADDING):
    """Boxes [N, 4] (x, y, w, h) -> centers [N, 2], scales [N, 2] (float32).

    Each box is widened or heightened to the input's aspect ratio w/h, divided by
    ``pixel_std`` and enlarged by ``padding`` (PaddleDetection ``_box2cs``).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x, y, w, h = boxes.T
    centers = np.stack([x + w * 0.5, y + h * 0.5], axis=1).astype(np.float32)
    aspect_ratio = input_size[0] / input_size[1]
    wide, tall = w > aspect_ratio * h, w < aspect_ratio * h
    w, h = np.where(tall, h * aspect_ratio, w), np.where(wide, w / aspect_ratio, h)
    scales = np.stack([w / pixel_std, h / pixel_std], axis=1).astype(np.float32) * np.float32(padding)
    return centers, scales


def udp_warp_matrix(center, scale, rotation, input_size, pixel_std=PIXEL_STD):
    """Affine [2, 3] (float64) from source pixels to input-crop pixels, UDP style.

    Rotation is in degrees (positive = counter-clockwise in the image, as in
    PaddleDetection's ``get_warp_matrix``). The source point ``center`` lands on
    ((w - 1) / 2, (h - 1) / 2); ``scale * pixel_std`` source pixels span
    ``input_size - 1`` crop pixels.
    """
    theta = np.deg2rad(float(rotation))
    cos, sin = np.cos(theta), np.sin(theta)
    sx = (input_size[0] - 1.0) / (float(scale[0]) * pixel_std)
    sy = (input_size[1] - 1.0) / (float(scale[1]) * pixel_std)
    cx, cy = float(center[0]), float(center[1])
    return np.array([
        [cos * sx, -sin * sx, sx * (-cx * cos + cy * sin) + 0.5 * (input_size[0] - 1.0)],
        [sin * sy, cos * sy, sy * (-cx * sin - cy * cos) + 0.5 * (input_size[1] - 1.0)],
    ])


def apply_affine(points, matrix):
    """points [..., 2] -> matrix @ [x, y, 1] for each point, same shape."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def to_image_coords(keypoints, centers, scales, input_size, use_udp=True, pixel_std=PIXEL_STD):
    """Back-project keypoints from input-crop pixels to source-image pixels.

    keypoints [N, K, 2] (crop pixels), centers [N, 2], scales [N, 2] -> [N, K, 2].

    ``use_udp=True`` is the exact inverse of ``udp_warp_matrix`` without
    rotation (what the crop was made with). ``use_udp=False`` reproduces
    PaddleDetection's ``transform_preds`` (``get_affine_transform`` with
    inv=1), which maps crop pixel w/2 (not (w-1)/2) to the centre and spans
    ``scale * 200`` over w (not w - 1); PaddleDetection evaluates TinyPose that
    way although it crops with UDP. Its ``get_affine_transform`` derives both
    axes from the width ratio; this uses each axis' own ratio, which is the same
    number whenever ``scale`` has the input's aspect ratio (every box from
    ``boxes_to_centers_scales``).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)[:, None, :]
    spans = np.asarray(scales, dtype=np.float64)[:, None, :] * pixel_std
    size = np.asarray(input_size, dtype=np.float64)
    if use_udp:
        return centers + (keypoints - (size - 1.0) / 2.0) * spans / (size - 1.0)
    return centers + (keypoints - size / 2.0) * spans / size


def flip_back_heatmaps(heatmaps, flip_pairs=COCO_FLIP_PAIRS):
    """Heatmaps [N, K, h, w] of mirrored images -> heatmaps of the originals.

    Mirrors the width axis and swaps each left/right pair. Returns a new array.
    """
    out = heatmaps[..., ::-1].copy()
    for left, right in flip_pairs:
        out[:, [left, right]] = out[:, [right, left]]
    return out


def flip_test(forward, images, flip_pairs=COCO_FLIP_PAIRS, shift_heatmap=True):
    """Average the heatmaps of images [N, 3, H, W] and of their mirror images.

    ``forward(images) -> heatmaps [N, K, h, w]`` (numpy in, numpy out).
    ``shift_heatmap`` moves the flipped-back heatmaps one cell to the right, as
    PaddleDetection's TopDownHRNet does by default, TinyPose included (its
    config keeps ``shift_heatmap: true`` even though it crops with UDP).
    mmpose shifts only without UDP: with a UDP crop the mirror of pixel x is
    w - 1 - x exactly, so no shift is needed; pass False for that behaviour.
    """
    heatmaps = np.asarray(forward(images))
    mirrored = np.ascontiguousarray(np.asarray(images)[..., ::-1])
    back = flip_back_heatmaps(np.asarray(forward(mirrored)), flip_pairs)
    if shift_heatmap:
        back[..., 1:] = back[..., :-1].copy()
    return (heatmaps + back) * 0.5
