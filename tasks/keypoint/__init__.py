"""PP-TinyPose: model, codecs, transforms, dataset, training and evaluation."""
