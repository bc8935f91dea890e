"""Deploy nodes: Paddle inference export, ONNX, Paddle-Lite .nb files (FP32, FP16), the mobile bundle.

Every node takes a model config of any registered architecture (``tasks.models``): its kind
picks the node that trains it (`TRAIN_NODES`). A detector is exported with NMS in the graph
(PaddleDetection's default; what Paddle-Lite and its C++ demo run) or, with `--without-nms`,
without it (what ONNX gets: paddle2onnx's NMS runs batch 1 only).

Every artifact is checked numerically on fixed images: a model the DAG trained on the first
persons of COCO val2017 (training needs COCO anyway), a model given by `--weights` on the
rendered persons of `tasks.export.rendered_persons`, so released `.pdparams` files need no
data set at all. `ExportMobileBundle` takes a detector and a keypoint model, each either way.
"""
import tempfile
from pathlib import Path

import luigi

from pipeline.cached_task import CachedTask
from pipeline.config import data_root, pipeline, resolve
from pipeline.data_nodes import IMAGE_LINKS, ExtractArchive
from pipeline.detector_nodes import TrainDetector
from pipeline.keypoint_nodes import TrainTinyPose
from pipeline.model_nodes import ModelConfigMixin
from tasks.common.fingerprint import sha256_file
from tasks.export.layout.files import EXPORT_FOLDER, pipeline_onnx_path
from tasks.export.lite import PRECISIONS
from tasks.models import kind_configs, spec_of
from tasks.models.defaults import DEFAULT_CONFIG

# a config's kind (``tasks.models``) -> the node whose `weights` output is exported
TRAIN_NODES = {"keypoint": TrainTinyPose, "detector": TrainDetector}
DEFAULT_LITE_CONFIGS = [*kind_configs("keypoint"), *kind_configs("detector")]


def check_paths() -> dict:
    """Where the fixed inputs a DAG-trained model's files are checked on come from (COCO val2017)."""
    val_ann = ExtractArchive(dataset="coco", archive="annotations_trainval2017").located()["files"]["val"]
    return {"val_ann": val_ann, "image_root": data_root() / IMAGE_LINKS[("coco", "val2017")]}


def demo_image(tasks, folder: Path) -> Path:
    """The picture a mobile bundle ships: the first COCO val2017 image with persons when one of
    ``tasks`` was checked on COCO, else a rendered person written into ``folder``."""
    from tasks.export.check_inputs import first_image_with_persons
    from tasks.export.rendered_persons import write_demo_image

    if any(task.check_images() is not None for task in tasks):
        return first_image_with_persons(**check_paths())
    return write_demo_image(folder / "demo.jpg")


class ModelSourceMixin(ModelConfigMixin):
    """A model config of any architecture plus its weights: the DAG's trained ones, or any
    `.pdparams` given with `weights` (PaddleDetection's released files included)."""
    config = luigi.Parameter(default=DEFAULT_CONFIG["keypoint"], description="model YAML (configs/*.yml)")
    weights = luigi.Parameter(default="", description="a .pdparams to use instead of training")
    fuse_normalize = luigi.BoolParameter(default=False,
                                         description="the network takes RGB 0..255 and normalizes itself")

    def has_nms(self) -> bool:
        """Whether the config's kind is exported with NMS in the graph by default."""
        return spec_of(self.model_config()).kind.carries_nms

    def train_task(self):
        train_node = TRAIN_NODES[spec_of(self.model_config()).kind.name]
        return train_node(config=self.config, set=self.training_overrides(train_node))

    def export_name(self) -> str:
        """The config's name, tagged with what else changes the exported network, so
        variants of one model do not overwrite each other."""
        name = self.model_config()["name"]
        if self.weights:
            name += f"_{resolve(self.weights).stem}"
        return name + ("_fused" if self.fuse_normalize else "")

    def weights_path(self):
        if not self.weights:
            return self.train_task().outputs()["weights"]
        path = resolve(self.weights)
        if not path.is_file():
            raise FileNotFoundError(f"--weights {self.weights}: no such file ({path})")
        return path

    def model_requires(self) -> dict:
        return {} if self.weights else {"trained": self.train_task()}

    def signature_params(self):
        params = super().signature_params()
        if self.weights:
            params["weights_sha256"] = sha256_file(self.weights_path())
        return params

    def export_task(self, without_nms=False):
        return ExportInferenceModel(config=self.config, set=self.set, weights=self.weights,
                                    fuse_normalize=self.fuse_normalize, without_nms=without_nms)

    def check_requires(self) -> dict:
        """COCO val2017 for a DAG-trained model; nothing for given weights (rendered persons)."""
        if self.weights:
            return {}
        return {"val_annotations": ExtractArchive(dataset="coco", archive="annotations_trainval2017"),
                "val_images": ExtractArchive(dataset="coco", archive="val2017")}

    def check_images(self):
        """``tasks.export.artifacts``' check_images: COCO val2017's paths, or None (rendered persons)."""
        return None if self.weights else check_paths()


class ExportInferenceModel(ModelSourceMixin, CachedTask):
    """model.json (PIR) + model.pdmodel (legacy, for Paddle-Lite) sharing model.pdiparams, + infer_cfg.yml."""
    without_nms = luigi.BoolParameter(default=False, description="a detector: leave NMS out of the graph "
                                      "(outputs boxes + scores; export/<name>_no_nms/)")

    def requires(self):
        if self.without_nms and not self.has_nms():
            raise ValueError(f"--without-nms: {self.config} is a {self.model_config()['architecture']} config, "
                             "whose export has no NMS (a detector's has)")
        return {**self.model_requires(), **self.check_requires()}

    def export_name(self) -> str:
        return super().export_name() + ("_no_nms" if self.without_nms else "")

    def outputs(self):
        return {"model_dir": data_root() / EXPORT_FOLDER / self.export_name()}

    def manifest_path(self):
        return data_root() / EXPORT_FOLDER / f"{self.export_name()}.manifest.json"

    def build(self, out):
        from tasks.export.artifacts import export_model
        self.progress(f"exporting {self.export_name()}")
        return export_model(self.model_config(), self.weights_path(), out["model_dir"],
                            check_images=self.check_images(), fuse_normalize=self.fuse_normalize,
                            with_nms=not self.without_nms)


class ExportOnnx(ModelSourceMixin, CachedTask):
    """ONNX (paddle2onnx), checked with onnxruntime against Paddle inference; a detector's
    from its export without NMS (onnx/<name>_no_nms.onnx)."""

    def export_task(self, without_nms=None):
        return super().export_task(self.has_nms() if without_nms is None else without_nms)

    def requires(self):
        return {"export": self.export_task(), **self.check_requires()}

    def outputs(self):
        return {"onnx": pipeline_onnx_path(data_root(), self.export_task().export_name())}

    def manifest_path(self):
        return self.outputs()["onnx"].with_suffix(".manifest.json")

    def build(self, out):
        from tasks.export.artifacts import export_checked_onnx
        self.progress("converting to ONNX")
        return export_checked_onnx(self.model_config(), self.export_task().outputs()["model_dir"], out["onnx"],
                                   check_images=self.check_images(), fuse_normalize=self.fuse_normalize,
                                   with_nms=not self.has_nms())


class ConvertLiteModel(ModelSourceMixin, CachedTask):
    """An ARM `.nb` file, proven: its x86 twin must reproduce Paddle inference (FP32), and
    an FP16 file's cost is estimated with float16-rounded weights (FP16 runs on ARM only).
    A detector's holds its NMS (Paddle-Lite runs multiclass_nms3 on ARM and x86)."""
    precision = luigi.ChoiceParameter(choices=PRECISIONS, default="fp32")

    def requires(self):
        return {"export": self.export_task(), **self.check_requires()}

    def nb_name(self):
        return f"{self.export_name()}_{self.precision}.nb"

    def outputs(self):
        return {"nb": data_root() / "lite" / self.nb_name()}

    def manifest_path(self):
        return data_root() / "lite" / f"{self.export_name()}_{self.precision}.manifest.json"

    def build(self, out):
        from tasks.export.artifacts import convert_checked_lite
        self.progress(f"paddle_lite_opt {self.precision}")
        return convert_checked_lite(self.model_config(), self.weights_path(), self.export_task().outputs()["model_dir"],
                                    out["nb"], self.precision, check_images=self.check_images(),
                                    fuse_normalize=self.fuse_normalize, lite_python=pipeline().lite_python,
                                    nb_name=self.nb_name())


class ExportLiteModels(CachedTask):
    """Every configured model x precision into <data_root>/lite/, with a manifest, a README for
    app developers, and lite/mobile/<precision>/: the first detector and the first keypoint
    model of `configs` as PaddleDetection's C++ Lite demo runs them on a phone."""
    configs = luigi.ListParameter(default=DEFAULT_LITE_CONFIGS)
    precisions = luigi.ListParameter(default=list(PRECISIONS))
    weights = luigi.Parameter(default="", description="a .pdparams for the (single) config")
    fuse_normalize = luigi.BoolParameter(default=False)

    def requires(self):
        if self.weights and len(self.configs) != 1:
            raise ValueError(f"--weights {self.weights} names one model's weights, but {len(self.configs)} "
                             f"configs are listed; pass the one it belongs to: --configs '[\"...yml\"]'")
        return {f"{config}:{precision}": ConvertLiteModel(config=config, precision=precision,
                                                          weights=self.weights,
                                                          fuse_normalize=self.fuse_normalize)
                for config in self.configs for precision in self.precisions}

    def outputs(self):
        return {"manifest": data_root() / "lite" / "manifest.json",
                "readme": data_root() / "lite" / "README.md",
                "mobile": data_root() / "lite" / "mobile"}

    def manifest_path(self):
        return data_root() / "lite" / "lite_models.manifest.json"

    def build(self, out):
        return write_bundle_files(self.requires().values(), out)


def write_bundle_files(lite_tasks, out, onnx_tasks=()):
    """``tasks.export.artifacts.write_lite_files`` for the (complete) ConvertLiteModel and ExportOnnx
    nodes given, into ``out``'s manifest, readme and mobile paths."""
    from tasks.export.artifacts import write_lite_files
    lite_tasks = list(lite_tasks)
    models = [{"name": task.export_name(), "info": task.read_manifest()["info"], "nb_path": task.outputs()["nb"],
               "model_dir": task.export_task().outputs()["model_dir"]} for task in lite_tasks]
    onnx = [{"name": task.export_task().export_name(), "path": str(task.outputs()["onnx"]),
             **task.read_manifest()["info"]} for task in onnx_tasks]
    with tempfile.TemporaryDirectory(prefix="bundle-demo-") as tmp:
        return write_lite_files(models, out["manifest"], out["readme"], out["mobile"],
                                demo_image(lite_tasks, Path(tmp)), onnx=onnx)


class ExportMobileBundle(CachedTask):
    """A detector and a keypoint model, each from released or own `.pdparams` (`--det-weights`,
    `--keypoint-weights`) or trained by the DAG (no weights given), exported, converted to every
    precision's `.nb` and to ONNX, every file checked, in one bundle keyed by the pair:
    <data_root>/bundles/<det name>+<keypoint name>/ with manifest.json, README.md and
    mobile/<precision>/ (PaddleDetection's C++ Lite demo layout). Another pair never writes there."""
    det_config = luigi.Parameter(default=DEFAULT_CONFIG["detector"], description="detector YAML")
    det_weights = luigi.Parameter(default="", description="the detector's .pdparams (default: train it)")
    keypoint_config = luigi.Parameter(default=DEFAULT_CONFIG["keypoint"], description="keypoint model YAML")
    keypoint_weights = luigi.Parameter(default="", description="the keypoint model's .pdparams (default: train it)")
    precisions = luigi.ListParameter(default=list(PRECISIONS))
    fuse_normalize = luigi.BoolParameter(default=False)

    ROLES = {"det": "detector", "keypoint": "keypoint"}   # role -> the kind of model it takes

    def sources(self) -> dict:
        """role -> (config, weights)."""
        return {"det": (self.det_config, self.det_weights), "keypoint": (self.keypoint_config, self.keypoint_weights)}

    def requires(self):
        required = {}
        for role, (config, weights) in self.sources().items():
            onnx = ExportOnnx(config=config, weights=weights, fuse_normalize=self.fuse_normalize)
            spec = spec_of(onnx.model_config())
            if spec.kind.name != self.ROLES[role]:
                raise ValueError(f"--{role}-config {config} is a {spec.name} config, a {spec.kind.name} model; "
                                 f"the bundle's {role} model is a {self.ROLES[role]}")
            required[f"{role}:onnx"] = onnx
            for precision in self.precisions:
                required[f"{role}:{precision}"] = ConvertLiteModel(config=config, weights=weights, precision=precision,
                                                                   fuse_normalize=self.fuse_normalize)
        return required

    def bundle_dir(self) -> Path:
        names = [ExportInferenceModel(config=config, weights=weights, fuse_normalize=self.fuse_normalize).export_name()
                 for config, weights in self.sources().values()]
        return data_root() / "bundles" / "+".join(names)

    def outputs(self):
        folder = self.bundle_dir()
        return {"manifest": folder / "manifest.json", "readme": folder / "README.md", "mobile": folder / "mobile"}

    def manifest_path(self):
        return self.bundle_dir().with_name(f"{self.bundle_dir().name}.manifest.json")

    def build(self, out):
        required = self.requires()
        lite = [task for name, task in required.items() if not name.endswith(":onnx")]
        onnx = [task for name, task in required.items() if name.endswith(":onnx")]
        self.progress(f"writing the bundle {self.bundle_dir().name}")
        return write_bundle_files(lite, out, onnx)
