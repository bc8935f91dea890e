"""Evaluation of the deployed models together: detector + keypoint model on a val set."""
