"""Exponential moving average of a model's weights (PaddleDetection's ModelEMA, `threshold` type).

After every optimizer update n (0-based), every floating-point entry of the state dict
(parameters and batch-norm statistics) is averaged:

    d_n = min(decay, (1 + n) / (10 + n))          # the decay warms up from 0.1
    avg = d_n * avg + (1 - d_n) * weight          # avg starts at 0

and the averaged weights are avg / (1 - d_last ** updates), the bias correction PaddleDetection
applies (d_last: the decay of the last update). Other entries (integer buffers) are the
model's own.
"""
import paddle


class ModelEMA:
    def __init__(self, model, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"train.ema_decay {decay}: must be in (0, 1)")
        self.decay = float(decay)
        self.updates = 0
        self.last_decay = 0.0
        self.averages = {name: paddle.zeros(value.shape, dtype="float32")
                         for name, value in model.state_dict().items() if paddle.is_floating_point(value)}

    def update(self, model):
        """Fold the model's current weights in (call after each optimizer update)."""
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        state = model.state_dict()
        with paddle.no_grad():
            for name, average in self.averages.items():
                self.averages[name] = decay * average + (1.0 - decay) * state[name].astype("float32")
        self.updates += 1
        self.last_decay = decay

    def weights(self, model) -> dict:
        """The averaged state dict (the model's own before the first update)."""
        state = model.state_dict()
        if self.updates == 0:
            return state
        correction = 1.0 - self.last_decay ** self.updates
        return {name: (self.averages[name] / correction).astype(value.dtype) if name in self.averages else value
                for name, value in state.items()}

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "last_decay": self.last_decay,
                "averages": dict(self.averages)}

    def set_state_dict(self, state: dict):
        missing = set(self.averages) - set(state["averages"])
        if missing:
            raise ValueError(f"EMA state lacks {len(missing)} entries of the model, e.g. {sorted(missing)[:3]}")
        self.updates, self.last_decay = int(state["updates"]), float(state["last_decay"])
        self.averages = {name: paddle.to_tensor(state["averages"][name], dtype="float32")
                         for name in self.averages}
