"""Every image of a training or evaluation list decoded once before it is used.

`decode` checks one file (truncation, corrupt data, not an image, its size), `cache`
keeps each file's result keyed by (name, size, mtime) across runs, and `verify`
checks a whole COCO list in parallel and writes the verified list and its report.
"""
