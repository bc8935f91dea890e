"""What a model config says about validation during training (its `eval` section), without Paddle.

    eval:
      interval: 1          # score the model on val every N epochs (default null: never)
      key_metric: AP       # the metric model_best.pdparams is kept by (higher is better)
      weights: final       # what the evaluation node scores: final (model_final) or best (model_best)

`interval` and `key_metric` change what training writes (val_log.csv, model_best.pdparams), so
they belong to the training signature while `interval` is set; the other `eval` keys do not.
"""

__all__ = ["DEFAULT_KEY_METRIC", "TRAINING_KEYS", "validation_settings", "training_eval", "shapes_training",
           "validation_problems"]

DEFAULT_KEY_METRIC = "AP"
TRAINING_KEYS = ("interval", "key_metric")   # the eval keys that change what training writes


def validation_settings(config: dict) -> dict:
    """{"interval": epochs or None, "key_metric": name, "weights": "final" | "best"}, defaults filled."""
    section = config.get("eval") or {}
    return {"interval": section.get("interval"), "key_metric": section.get("key_metric", DEFAULT_KEY_METRIC),
            "weights": section.get("weights", "final")}


def training_eval(config: dict) -> dict:
    """The part of `eval` the trained outputs are a function of: {} without `interval`, so a
    config that does not validate keeps the training signature it had before this key existed."""
    settings = validation_settings(config)
    return {key: settings[key] for key in TRAINING_KEYS} if settings["interval"] else {}


def shapes_training(override: str) -> bool:
    """True for an override (`eval.interval=1`) of a training-shaping key of `eval`."""
    key = override.partition("=")[0].strip()
    return key in {f"eval.{name}" for name in TRAINING_KEYS}


def validation_problems(config: dict) -> list:
    """Config rule: the best weights exist only when training validates."""
    settings = validation_settings(config)
    if settings["weights"] == "best" and not settings["interval"]:
        return [("eval/weights", "best needs eval.interval (model_best.pdparams is written by the "
                                 "validation during training)")]
    return []
