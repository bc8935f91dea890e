"""sigmoid, sqrt, matmul and sum that also build the legacy (non-PIR) static program.

In Paddle 3.3.1 `F.sigmoid`, `paddle.sqrt`, `paddle.matmul` (and `paddle.multiply`,
`paddle.sum`, `paddle.exp`, ...) call the PIR operator directly, so tracing a model with
`FLAGS_enable_pir_api=0` fails with "argument (position 1) must be Value, but got
Variable". Paddle-Lite's opt and oneDNN need that legacy program. In dygraph and
PIR these functions are Paddle's own; while a legacy program is being built they
append the legacy operator of the same name (same kernel, same result).
"""
import paddle
import paddle.nn.functional as F
from paddle.framework import LayerHelper, in_dynamic_or_pir_mode


def _legacy_op(op_type, inputs, attrs=None):
    helper = LayerHelper(op_type)
    out = helper.create_variable_for_type_inference(next(iter(inputs.values())).dtype)
    helper.append_op(type=op_type, inputs={k: [v] for k, v in inputs.items()}, outputs={"Out": [out]},
                     attrs=attrs or {})
    return out


def sigmoid(x):
    return F.sigmoid(x) if in_dynamic_or_pir_mode() else _legacy_op("sigmoid", {"X": x})


def sqrt(x):
    return paddle.sqrt(x) if in_dynamic_or_pir_mode() else _legacy_op("sqrt", {"X": x})


def matmul(x, y):
    if in_dynamic_or_pir_mode():
        return paddle.matmul(x, y)
    return _legacy_op("matmul_v2", {"X": x, "Y": y}, {"trans_x": False, "trans_y": False})


def sum_axis(x, axis):
    """``paddle.sum(x, axis=axis, keepdim=True)`` over one axis."""
    if in_dynamic_or_pir_mode():
        return paddle.sum(x, axis=axis, keepdim=True)
    return _legacy_op("reduce_sum", {"X": x}, {"dim": [axis], "keep_dim": True, "reduce_all": False})
