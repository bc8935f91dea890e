"""Image file names confined to their image folder: the one rule the converters and
every reader that opens an image by an annotation file's ``file_name`` apply.

A ``file_name`` is joined to its image folder (``data_root/coco/train2017``, the data
root itself for the merged file) and must name something strictly inside it. The rule
is lexical: no absolute name, no ``..`` part, no backslash (a Windows separator) or
NUL, and not the folder itself (a name of only ``.`` parts). Such a name joins to a
path under the folder whatever the folder is, so image folders that are links into
``extracted/...`` stay legitimate: where a link leads is not judged, only the name.
"""
import os

__all__ = ["UnsafeImagePath", "file_name_problem", "confined_image_path"]


class UnsafeImagePath(ValueError):
    """A file_name that could point outside its image folder."""


def file_name_problem(file_name):
    """Short, stable reason why ``file_name`` may not be joined to an image folder, or None."""
    if type(file_name) is not str or not file_name:
        return "file_name missing"
    if "\\" in file_name or "\0" in file_name:
        return "file_name with a backslash or NUL"
    if file_name.startswith("/"):
        return "file_name is absolute"
    # the substring tests first: splitting every one of 300k names would cost a noticeable time
    if ".." in file_name and ".." in file_name.split("/"):
        return "file_name with a '..' part"
    if not file_name.strip("./") and all(part in ("", ".") for part in file_name.split("/")):
        return "file_name outside its image folder"  # only '.' parts: it names the folder itself
    return None


def confined_image_path(image_root, file_name, *, ann_file, image_id) -> str:
    """``image_root/file_name`` as a str (a Path per image would cost seconds at 300k images),
    or UnsafeImagePath naming the annotation file, the image record and the name when the
    name breaks the rule (module docstring)."""
    reason = file_name_problem(file_name)
    if reason is not None:
        raise UnsafeImagePath(f"{ann_file}: image id {image_id}: {reason}: {file_name!r}; file names "
                              f"must be relative paths inside the image folder {image_root}")
    return os.path.join(image_root, file_name)
