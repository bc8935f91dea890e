"""Anchor points of PicoDet's feature levels (numpy; PaddleDetection's `generate_anchors_for_grid_cell`).

Levels are concatenated finest first, cells row-major inside a level. A cell
(row, col) of a level with stride s has its point at ((col + offset) s, (row + offset) s)
pixels; its "grid cell" box, which the ATSS assigner compares with the ground
truth, is the square of side `grid_cell_scale * s` centred on that point.
"""
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def _grid(feature_sizes, strides, cell_offset):
    points, stride_column = [], []
    for (h, w), stride in zip(feature_sizes, strides):
        rows, cols = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
        points.append(np.stack([cols.ravel(), rows.ravel()], axis=-1) + np.float32(cell_offset))
        stride_column.append(np.full((h * w, 1), stride, dtype=np.float32))
    cell_points = np.concatenate(points)
    cell_points.flags.writeable = False  # cached: shared by every caller
    stride_column = np.concatenate(stride_column)
    stride_column.flags.writeable = False
    return cell_points, stride_column


def grid_points(feature_sizes, strides, cell_offset=0.5):
    """Points of every cell of every level.

    feature_sizes: [(h, w)] per level; strides: the levels' strides in pixels.
    Returns (cell_points [N, 2] float32 (x, y) in units of the cell's stride,
    stride_column [N, 1] float32, num_anchors_list [h * w per level]).
    Pixel points are ``cell_points * stride_column``. The arrays are read-only.
    """
    feature_sizes = tuple((int(h), int(w)) for h, w in feature_sizes)
    strides = tuple(float(s) for s in strides)
    if len(feature_sizes) != len(strides):
        raise ValueError(f"grid_points: {len(feature_sizes)} feature sizes but {len(strides)} strides")
    bad = [(h, w) for h, w in feature_sizes if h <= 0 or w <= 0]
    if bad:
        raise ValueError(f"grid_points: feature sizes must be known and positive, got {bad} "
                         "(export with a fixed input height and width)")
    cell_points, stride_column = _grid(feature_sizes, strides, float(cell_offset))
    return cell_points, stride_column, [h * w for h, w in feature_sizes]


def grid_cell_boxes(pixel_points, stride_column, grid_cell_scale=5.0):
    """[N, 4] x1y1x2y2 pixel squares of side ``grid_cell_scale * stride`` centred on ``pixel_points``."""
    half = stride_column * np.float32(grid_cell_scale * 0.5)
    return np.concatenate([pixel_points - half, pixel_points + half], axis=-1).astype(np.float32)
