"""Runtime room: opens an export folder or file and runs it (paddle.inference, onnxruntime,
Paddle-Lite x86), and the keypoint and detector predictors built on them. It never converts."""
