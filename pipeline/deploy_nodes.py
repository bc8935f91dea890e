"""Deploy nodes: Paddle inference export, ONNX, Paddle-Lite .nb files (FP32, FP16)."""
import luigi

from pipeline.base import CachedTask
from pipeline.config import data_root, pipeline, resolve
from pipeline.data_nodes import IMAGE_LINKS, ExtractArchive
from pipeline.keypoint_nodes import KeypointConfigMixin, TrainTinyPose
from tasks.common.fingerprint import sha256_file
from tasks.deploy.lite import PRECISIONS


class ModelSourceMixin(KeypointConfigMixin):
    """A model config plus its weights: the DAG's trained ones, or any `.pdparams`
    given with `weights` (PaddleDetection's released files included)."""
    weights = luigi.Parameter(default="", description="a .pdparams to use instead of training")
    fuse_normalize = luigi.BoolParameter(default=False,
                                         description="the network takes RGB 0..255 and normalizes itself")

    def export_name(self) -> str:
        """The config's name, tagged with what else changes the exported network, so
        variants of one model do not overwrite each other."""
        name = self.model_config()["name"]
        if self.weights:
            name += f"_{resolve(self.weights).stem}"
        return name + ("_fused" if self.fuse_normalize else "")

    def weights_path(self):
        if self.weights:
            return resolve(self.weights)
        return TrainTinyPose(config=self.config).outputs()["weights"]

    def model_requires(self) -> dict:
        return {} if self.weights else {"trained": TrainTinyPose(config=self.config)}

    def signature_params(self):
        params = super().signature_params()
        if self.weights:
            params["weights_sha256"] = sha256_file(self.weights_path())
        return params

    def export_task(self):
        return ExportInferenceModel(config=self.config, weights=self.weights,
                                    fuse_normalize=self.fuse_normalize)

    def check_requires(self) -> dict:
        return {"val_annotations": ExtractArchive(dataset="coco", archive="annotations_trainval2017"),
                "val_images": ExtractArchive(dataset="coco", archive="val2017")}

    def check_paths(self) -> dict:
        """Where the fixed persons every converted file is checked on come from (COCO val2017)."""
        val_ann = ExtractArchive(dataset="coco", archive="annotations_trainval2017").located()["files"]["val"]
        return {"val_ann": val_ann, "image_root": data_root() / IMAGE_LINKS[("coco", "val2017")]}


class ExportInferenceModel(ModelSourceMixin, CachedTask):
    """model.json (PIR) + model.pdmodel (legacy, for Paddle-Lite) sharing model.pdiparams, + infer_cfg.yml."""
    code_version = 2  # both programs; interpolation-free upsampling

    def requires(self):
        return self.model_requires()

    def outputs(self):
        return {"model_dir": data_root() / "export" / self.export_name()}

    def manifest_path(self):
        return data_root() / "export" / f"{self.export_name()}.manifest.json"

    def build(self, out):
        from tasks.deploy.artifacts import export_model
        self.progress(f"exporting {self.export_name()}")
        return export_model(self.model_config(), self.weights_path(), out["model_dir"],
                            fuse_normalize=self.fuse_normalize)


class ExportOnnx(ModelSourceMixin, CachedTask):
    """ONNX (paddle2onnx), checked with onnxruntime against Paddle inference."""

    def requires(self):
        return {"export": self.export_task(), **self.check_requires()}

    def outputs(self):
        return {"onnx": data_root() / "onnx" / f"{self.export_name()}.onnx"}

    def manifest_path(self):
        return data_root() / "onnx" / f"{self.export_name()}.manifest.json"

    def build(self, out):
        from tasks.deploy.artifacts import export_checked_onnx
        self.progress("converting to ONNX")
        return export_checked_onnx(self.model_config(), self.export_task().outputs()["model_dir"], out["onnx"],
                                   **self.check_paths(), fuse_normalize=self.fuse_normalize)


class ConvertLiteModel(ModelSourceMixin, CachedTask):
    """An ARM `.nb` file, proven: its x86 twin must reproduce Paddle inference (FP32), and
    an FP16 file's cost is estimated with float16-rounded weights (FP16 runs on ARM only)."""
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
        from tasks.deploy.artifacts import convert_checked_lite
        self.progress(f"paddle_lite_opt {self.precision}")
        return convert_checked_lite(self.model_config(), self.weights_path(), self.export_task().outputs()["model_dir"],
                                    out["nb"], self.precision, **self.check_paths(),
                                    fuse_normalize=self.fuse_normalize, lite_python=pipeline().lite_python,
                                    nb_name=self.nb_name())


class ExportLiteModels(CachedTask):
    """Every configured model x precision into <data_root>/lite/, with a manifest and a
    README for app developers."""
    configs = luigi.ListParameter(default=["configs/tinypose_128x96.yml", "configs/tinypose_256x192.yml"])
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
                "readme": data_root() / "lite" / "README.md"}

    def manifest_path(self):
        return data_root() / "lite" / "lite_models.manifest.json"

    def build(self, out):
        from tasks.deploy.artifacts import write_lite_bundle
        models = [{"name": task.export_name(), "info": task.read_manifest()["info"],
                   "model_dir": task.export_task().outputs()["model_dir"]} for task in self.requires().values()]
        return write_lite_bundle(models, out["manifest"], out["readme"])
