"""App room: ``tinypose-infer`` (CLI, media in and out, box sources, smoothing, threads), on
``tasks.runtime``'s predictors."""
