"""Dataset records packed in a few numpy arrays instead of a list of dicts.

A list of 640k record dicts costs gigabytes of Python objects, and every forked
loader worker that reads them writes their reference counts, so the pages are
copied into each worker (copy-on-write) and memory grows by workers x GPUs. The
same records as columns (mmengine's ``serialize_data`` idea) cost their array bytes,
and reading one touches no per-record Python object. ``PackedRecords[i]`` builds a
fresh dict for record ``i`` (arrays copied, scalars as Python numbers), so a
transform may modify it freely. ``field_column`` and ``fixed_rows`` turn the parsed
JSON's lists of dicts into such columns without a per-record Python loop body.
"""
from itertools import chain
from pathlib import Path

import numpy as np
import orjson

from tasks.common.paths import confined_image_path


def field_column(items, key, dtype, default=None):
    """One field of every dict in `items` as a numpy array (`default` where it is absent)."""
    values = (item[key] for item in items) if default is None else (item.get(key, default) for item in items)
    return np.fromiter(values, dtype=dtype, count=len(items))


def read_coco(ann_file):
    """A COCO file -> (images, annotations, image ids [I] int64, owner [A]: each annotation's
    index into images). ValueError naming the file and annotation when its image is missing."""
    coco = orjson.loads(Path(ann_file).read_bytes())
    images, anns = coco["images"], coco["annotations"]
    del coco
    image_ids = field_column(images, "id", np.int64)
    position = {image_id: i for i, image_id in enumerate(image_ids.tolist())}
    owner = np.fromiter((position.get(ann["image_id"], -1) for ann in anns), dtype=np.int64, count=len(anns))
    if (owner < 0).any():
        bad = anns[int(np.argmax(owner < 0))]
        raise ValueError(f"{ann_file}: annotation {bad['id']} is on image id {bad['image_id']}, "
                         f"which the file's images lack")
    return images, anns, image_ids, owner


def fixed_rows(lists, width, dtype, what):
    """Lists of `width` numbers each -> [N, width] array; a wrong length raises
    ValueError naming ``what(i)`` (e.g. the file and annotation id)."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    wrong = np.flatnonzero(lengths != width)
    if wrong.size:
        raise ValueError(f"{what(wrong[0])} has {lengths[wrong[0]]} values, expected {width}")
    return np.fromiter(chain.from_iterable(lists), dtype=dtype, count=width * len(lists)).reshape(-1, width)


class Ragged:
    """Rows of different lengths: ``values`` [T, ...] cut by ``offsets`` [N + 1]."""

    def __init__(self, values, offsets):
        self.values = np.asarray(values)
        self.offsets = np.asarray(offsets, dtype=np.int64)

    @classmethod
    def from_counts(cls, values, counts):
        """``values`` of all rows back to back, ``counts`` [N] rows per record."""
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(values, offsets)

    def __len__(self):
        return len(self.offsets) - 1

    def __getitem__(self, index):
        return self.values[self.offsets[index]:self.offsets[index + 1]]

    @property
    def nbytes(self):
        return self.values.nbytes + self.offsets.nbytes


class Strings(Ragged):
    """Strings as one UTF-8 buffer and offsets; item ``i`` is a ``str``."""

    @classmethod
    def from_list(cls, strings):
        encoded = [s.encode("utf-8") for s in strings]
        return cls.from_counts(np.frombuffer(b"".join(encoded), dtype=np.uint8),
                               np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))

    def __getitem__(self, index):
        return super().__getitem__(index).tobytes().decode("utf-8")


def image_files(images, image_root, ann_file):
    """The images' paths under ``image_root`` as packed ``Strings``; UnsafeImagePath naming
    ``ann_file`` and the image when a ``file_name`` could lead outside ``image_root``."""
    root = str(Path(image_root))  # str paths: pathlib per image would cost seconds at 300k images
    return Strings.from_list([confined_image_path(root, img["file_name"], ann_file=ann_file, image_id=img["id"])
                              for img in images])


class Lookup:
    """Item ``i`` is ``table[index[i]]``: a value many records share (an image's file), stored once."""

    def __init__(self, table, index):
        self.table = table
        self.index = np.asarray(index)

    def __len__(self):
        return len(self.index)

    def __getitem__(self, index):
        return self.table[self.index[index]]

    @property
    def nbytes(self):
        return self.table.nbytes + self.index.nbytes


class PackedRecords:
    """Records as named columns of one length: numpy arrays [N, ...], ``Ragged``, ``Strings``
    or ``Lookup``.

    ``records[i]`` is record ``i`` as a new dict; iteration yields every record;
    ``nbytes`` is what the columns hold.
    """

    def __init__(self, **columns):
        lengths = {name: len(column) for name, column in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"columns of different lengths: {lengths}")
        self.columns = columns
        self._length = next(iter(lengths.values()), 0)

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if not -self._length <= index < self._length:
            raise IndexError(f"record {index} of {self._length}")
        index %= max(self._length, 1)
        record = {}
        for name, column in self.columns.items():
            value = column[index]
            if isinstance(value, np.ndarray):
                value = value.copy()
            elif isinstance(value, np.generic):
                value = value.item()
            record[name] = value
        return record

    def __iter__(self):
        return (self[i] for i in range(self._length))

    @property
    def nbytes(self):
        return sum(column.nbytes for column in self.columns.values())
