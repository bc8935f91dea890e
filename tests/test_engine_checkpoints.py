"""Checkpoints per signature: newest `keep` per folder, at most `keep_signatures` folders (LRU)."""
import paddle
import pytest

from tasks.engine.checkpoints import CheckpointStore, list_checkpoints


def store(root, signature, keep=2, keep_signatures=2):
    return CheckpointStore(root, signature, keep=keep, keep_signatures=keep_signatures)


def test_folder_per_signature_and_newest_kept(tmp_path):
    a = store(tmp_path, "a" * 64)
    assert a.latest() is None
    a.claim()
    for epoch in (1, 2, 3):
        a.save({"epoch": epoch}, epoch)
    assert a.folder == tmp_path / ("a" * 16)
    assert [p.name for p in list_checkpoints(a.folder)] == ["epoch_0002.pdckpt", "epoch_0003.pdckpt"]
    assert paddle.load(str(a.latest()))["epoch"] == 3
    assert (a.folder / "signature.txt").read_text() == "a" * 64


def test_least_recently_used_signature_is_pruned(tmp_path):
    a, b, c = (store(tmp_path, s * 20) for s in "abc")
    for s in (a, b):
        s.claim()
        s.save({"epoch": 1}, 1)
    a.claim()              # a used again: b is now the least recently used
    c.claim()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a" * 16, "c" * 16]
    assert a.latest() is not None and b.latest() is None


def test_prefix_collision_and_clear(tmp_path):
    first, other = store(tmp_path, "f" * 16 + "1"), store(tmp_path, "f" * 16 + "2")
    first.claim()
    first.save({"epoch": 1}, 1)
    assert other.latest() is None          # same folder name, another signature
    other.claim()
    assert first.latest() is None and list_checkpoints(other.folder) == []
    other.save({"epoch": 1}, 1)
    other.claim(clear=True)                # a run that does not resume starts empty
    assert other.latest() is None


def test_signature_must_be_a_digest(tmp_path):
    with pytest.raises(ValueError, match="signature"):
        store(tmp_path, "../escape")
    with pytest.raises(ValueError, match="signature"):
        store(tmp_path, "")
