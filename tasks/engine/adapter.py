"""What a model brings to the training engine: see the adapter paragraph of tasks.engine."""
from dataclasses import dataclass

import paddle

from tasks.common.weights import load_state


@dataclass
class TrainData:
    """One process' training data.

    loader:  iterable of batches (what `TrainAdapter.losses` takes), one pass = one epoch.
    sampler: its batch sampler: len() = batches per epoch; set_epoch(e) fixes the epoch's order
             (paddle.io.DistributedBatchSampler: this process' share under the launcher).
    dataset: len() = samples; its set_epoch(e), when it has one, is called too, so that
             augmentation draws can be a function of (seed, epoch, index).
    """
    loader: object
    sampler: object
    dataset: object

    def set_epoch(self, epoch: int):
        self.sampler.set_epoch(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


class TrainAdapter:
    """Base of a model's adapter; subclasses define the three abstract methods."""

    # paddle.DataParallel's flag, for a model whose loss leaves some parameters without gradient
    find_unused_parameters = False

    def build_train_data(self, num_replicas: int, rank: int) -> TrainData:
        raise NotImplementedError

    def build_model(self) -> paddle.nn.Layer:
        raise NotImplementedError

    def losses(self, model, batch, epoch: int) -> dict:
        """{"loss": total to minimise, other names: its parts (logged only)}, scalar tensors."""
        raise NotImplementedError

    def batch_samples(self, batch) -> int:
        """Samples in `batch` (for samples/s)."""
        return int(batch["image"].shape[0])

    def validate(self, model, epoch: int) -> dict:
        """{metric: value} of `model` on the val list with the model's own evaluation code, for
        `eval.interval`; `model` is a fresh copy holding the weights to score (the EMA weights
        when EMA is on); `epoch`: epochs done. Called by the writer process only."""
        raise NotImplementedError(f"{type(self).__name__} has no validation (eval.interval is set)")

    def load_pretrained(self, model, path):
        """Start weights of a fresh run (`train.pretrained`); strict by default."""
        load_state(model, str(path))
