"""Loading: decode the source image of a sample."""
import cv2
import numpy as np


class LoadImage:
    """Read ``results["image_file"]`` into ``results["image"]``: uint8 [H, W, 3] RGB.

    EXIF orientation is ignored (as PaddleDetection and the COCO annotations do).
    Raises FileNotFoundError / ValueError naming the file and the record
    (``results["ann_id"]``, else ``results["image_id"]``, when present) when it is
    missing or cannot be decoded.
    """

    def __call__(self, results):
        path = results["image_file"]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if image is None:
            record = (f" (annotation id {results['ann_id']})" if "ann_id" in results
                      else f" (image id {results['image_id']})" if "image_id" in results else "")
            try:
                with open(path, "rb") as f:
                    size = len(f.read(1))
            except OSError as exc:
                raise FileNotFoundError(f"{path}{record}: image cannot be read: {exc}") from exc
            what = "empty file" if size == 0 else "not a decodable image (corrupt or unsupported format)"
            raise ValueError(f"{path}{record}: {what}; re-extract or replace the file")
        results["image"] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        results["image_shape"] = np.array(image.shape[:2], dtype=np.int64)
        return results
