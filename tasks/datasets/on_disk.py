"""A dataset folder already on disk (`path:` in the datasets config): what its digest covers.

The folder is used where it is and never written to, so the pipeline cannot record
its own hashes of it; instead each run fingerprints what the entry uses: the image
folder's listing (names, sizes, mtimes: one stat per file, no reads) and the sha256
of the annotation files (small next to the images, and their content is what the
conversion and the merge read). docs/data.md has the measured cost.
"""
from tasks.common.fingerprint import folder_fingerprint, sha256_file


def content_fingerprint(located: dict) -> dict:
    """{"images": listing fingerprint, "annotations": sha256, "files": {name: sha256}} of the
    located paths of one entry (only the keys it has)."""
    found = {}
    if "images" in located:
        found["images"] = folder_fingerprint(located["images"])
    if "annotations" in located:
        found["annotations"] = sha256_file(located["annotations"])
    if "files" in located:
        found["files"] = {name: sha256_file(path) for name, path in located["files"].items()}
    return found


__all__ = ["content_fingerprint"]
