"""Export room: a trained model -> checked files (Paddle inference programs, ONNX, Paddle-Lite .nb,
the mobile bundle). Checks run the written files with ``tasks.runtime``; the file layout every
room agrees on is ``tasks.export.layout``."""
