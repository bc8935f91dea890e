"""Image paths the report may open: only regular, non-empty files inside the data root's
image folders (coco/train2017, coco/val2017, aic/train, aic/val and where they link to).

A record's `file_name` is data, not a path to trust: one that escapes those folders
(`../`, an absolute path, a link out of the folder), or names a missing or empty file,
gets a reason instead, and the report draws a placeholder tile with it.
"""
from pathlib import Path

from tasks.datasets.layout import IMAGE_LINKS

__all__ = ["ImageFolders"]


class ImageFolders:
    """The data root's image folders, resolved once."""

    def __init__(self, data_root):
        self.data_root = Path(data_root).resolve()
        self.roots = [path.resolve() for link in IMAGE_LINKS.values()
                      if (path := self.data_root / link).is_dir()]

    def locate(self, file_name):
        """(path relative to the data root, None) for a file the report may read, else
        (None, reason)."""
        if not isinstance(file_name, str) or not file_name or "\0" in file_name:
            return None, "no usable file name"
        if Path(file_name).is_absolute():
            return None, "absolute path, outside the image folders"
        path = (self.data_root / file_name).resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            return None, "outside the image folders"
        if not path.is_file():
            return None, "image file missing"
        if path.stat().st_size == 0:
            return None, "empty image file"
        return file_name, None

    def path(self, file_name) -> Path:
        """The file of a name `locate` accepted."""
        return self.data_root / file_name
