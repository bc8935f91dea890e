"""The outputs of a detector exported without NMS, read in PaddleDetection's order (boxes, scores)
and in this project's earlier one (scores, boxes), told apart by shape."""
import numpy as np
import pytest

from tasks.export.layout.detector_io import DECODED_OUTPUTS, boxes_and_scores, decoded_indices


def test_both_orders_give_boxes_then_scores():
    boxes, scores = np.zeros((2, 765, 4)), np.ones((2, 1, 765))
    assert DECODED_OUTPUTS == ("boxes", "scores")
    assert decoded_indices([boxes, scores]) == (0, 1) and decoded_indices([scores, boxes]) == (1, 0)
    for outputs in ([boxes, scores], [scores, boxes]):
        got_boxes, got_scores = boxes_and_scores(outputs)
        assert got_boxes is boxes and got_scores is scores


@pytest.mark.parametrize("shapes", [[(2, 765, 4)], [(2, 765, 4), (2, 1, 764)], [(1, 765, 4), (2, 1, 765)],
                                    [(2, 765, 5), (2, 1, 765)]])
def test_other_shapes_are_named(shapes):
    with pytest.raises(ValueError, match=r"det_dir: outputs of shapes .* expected boxes \[B, N, 4\]"):
        boxes_and_scores([np.zeros(s) for s in shapes], "det_dir")
