"""Anchor points of PicoDet's feature levels (PaddleDetection's `generate_anchors_for_grid_cell`).

Levels are concatenated finest first, cells row-major inside a level. A cell
(row, col) of a level with stride s has its point at ((col + offset) s, (row + offset) s)
pixels; its "grid cell" box, which the ATSS assigner compares with the ground
truth, is the square of side `grid_cell_scale * s` centred on that point.

Built from arange/meshgrid/full so that an exported program carries ops, not a
constant table: a traced `paddle.to_tensor(array)` becomes an assign_value op with
float64 values, which Paddle-Lite's opt cannot parse.
"""
import paddle


def grid_points(feature_sizes, strides, cell_offset=0.5):
    """Points of every cell of every level.

    feature_sizes: [(h, w)] per level (known ints: export with a fixed input size);
    strides: the levels' strides in pixels.
    Returns (cell_points [N, 2] float32 (x, y) in units of the cell's stride,
    stride_column [N, 1] float32, num_anchors_list [h * w per level]).
    Pixel points are ``cell_points * stride_column``.
    """
    feature_sizes = [(int(h), int(w)) for h, w in feature_sizes]
    if len(feature_sizes) != len(strides):
        raise ValueError(f"grid_points: {len(feature_sizes)} feature sizes but {len(strides)} strides")
    bad = [(h, w) for h, w in feature_sizes if h <= 0 or w <= 0]
    if bad:
        raise ValueError(f"grid_points: feature sizes must be known and positive, got {bad} "
                         "(export with a fixed input height and width)")
    points, stride_column = [], []
    for (h, w), stride in zip(feature_sizes, strides):
        rows, cols = paddle.meshgrid(paddle.arange(h, dtype="float32"), paddle.arange(w, dtype="float32"))
        points.append(paddle.stack([cols, rows], axis=-1).reshape([h * w, 2]) + cell_offset)
        stride_column.append(paddle.full([h * w, 1], stride, dtype="float32"))
    return paddle.concat(points), paddle.concat(stride_column), [h * w for h, w in feature_sizes]


def grid_cell_boxes(pixel_points, stride_column, grid_cell_scale=5.0):
    """[N, 4] x1y1x2y2 pixel squares of side ``grid_cell_scale * stride`` centred on ``pixel_points``."""
    half = stride_column * (grid_cell_scale * 0.5)
    return paddle.concat([pixel_points - half, pixel_points + half], axis=-1)
