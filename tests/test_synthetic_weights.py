"""The synthetic-weight generator (tests/synthetic_weights.py) still gives the values the
PaddleDetection reference outputs were computed with (tests/data/reference/PROVENANCE.md)."""
import pytest

from reference import INPUT_HW, reference_weights
from synthetic_weights import weights_digest

DIGESTS = {  # one per architecture: both input sizes have the same parameters
    "tinypose": "3ad64e683221d2928d58c132a065b1b483a669a5199d37262195a11b54421aed",
    "picodet": "1b4651049323721f0f5dd3219144d5909a3eb59571181f5835ce4e371a6494f7",
}


@pytest.mark.parametrize("model", sorted(INPUT_HW))
def test_reference_weights_digest(model):
    assert weights_digest(reference_weights(model)) == DIGESTS[model.split("_")[0]]
