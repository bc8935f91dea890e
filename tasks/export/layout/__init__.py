"""The layout of an export folder: file names, infer_cfg.yml, a detector's inputs and outputs.
The one part of the export room that ``tasks.runtime`` and ``tasks.app`` may read."""
