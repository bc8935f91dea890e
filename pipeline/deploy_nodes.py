"""Deploy nodes: Paddle inference export, ONNX, Paddle-Lite .nb files (FP32, FP16)."""
import luigi

from pipeline.base import CachedTask
from pipeline.config import data_root, pipeline, resolve
from pipeline.data_nodes import IMAGE_LINKS, ExtractArchive
from pipeline.keypoint_nodes import KeypointConfigMixin, TrainTinyPose
from tasks.common.atomic import write_json
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

    def check_inputs(self):
        """The inputs (one batch of fixed persons from COCO val2017) every converted file is
        checked on."""
        from tasks.deploy.check_inputs import person_crops
        val_ann = ExtractArchive(dataset="coco", archive="annotations_trainval2017").located()["files"]["val"]
        return [person_crops(self.model_config(), val_ann, data_root() / IMAGE_LINKS[("coco", "val2017")],
                             fuse_normalize=self.fuse_normalize)]

    def check_requires(self) -> dict:
        return {"val_annotations": ExtractArchive(dataset="coco", archive="annotations_trainval2017"),
                "val_images": ExtractArchive(dataset="coco", archive="val2017")}

    def dygraph_model(self):
        """The network with its weights, taking the same input as the export."""
        from tasks.common.weights import load_state
        from tasks.deploy.normalize import NormalizeInput
        from tasks.keypoint.builders import build_model
        config = self.model_config()
        model = build_model(config)
        load_state(model, str(self.weights_path()))
        model.eval()
        if self.fuse_normalize:
            return NormalizeInput(model, config["data"]["mean"], config["data"]["std"])
        return model


class ExportInferenceModel(ModelSourceMixin, CachedTask):
    """model.pdmodel + model.pdiparams (legacy format, for Paddle-Lite) + infer_cfg.yml."""

    def requires(self):
        return self.model_requires()

    def outputs(self):
        return {"model_dir": data_root() / "export" / self.export_name()}

    def manifest_path(self):
        return data_root() / "export" / f"{self.export_name()}.manifest.json"

    def build(self, out):
        from tasks.deploy.export import export_inference_model
        config = self.model_config()
        width, height = config["model"]["input_size"]
        self.progress(f"exporting {config['name']}")
        return export_inference_model(
            "tasks.keypoint.model:TinyPose", self.weights_path(), out["model_dir"], (height, width),
            fuse_normalize=self.fuse_normalize, mean=config["data"]["mean"], std=config["data"]["std"],
            model_kwargs={"num_joints": config["model"]["num_joints"], "width": config["model"]["width"]})


class ExportOnnx(ModelSourceMixin, CachedTask):
    """ONNX (paddle2onnx), checked with onnxruntime against Paddle inference."""

    def requires(self):
        return {"export": self.export_task(), **self.check_requires()}

    def outputs(self):
        return {"onnx": data_root() / "onnx" / f"{self.export_name()}.onnx"}

    def manifest_path(self):
        return data_root() / "onnx" / f"{self.export_name()}.manifest.json"

    def build(self, out):
        from tasks.deploy.onnx import check_onnx, export_onnx
        model_dir = self.export_task().outputs()["model_dir"]
        self.progress("converting to ONNX")
        export_onnx(model_dir, out["onnx"])
        return {"check": check_onnx(out["onnx"], model_dir, self.check_inputs())}


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
        from tasks.deploy.lite import build_lite_model
        from tasks.deploy.lite_env import find_lite_python
        lite_python = find_lite_python(pipeline().lite_python or None)
        self.progress(f"paddle_lite_opt {self.precision}")
        info = build_lite_model(self.export_task().outputs()["model_dir"], out["nb"], self.precision,
                                self.check_inputs(), lite_python=lite_python,
                                model=self.dygraph_model() if self.precision == "fp16" else None)
        return {**info, "nb": self.nb_name()}


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
        import yaml

        from tasks.deploy.deploy_readme import render_deploy_readme
        models = []
        for task in self.requires().values():
            model_dir = task.export_task().outputs()["model_dir"]
            models.append({**task.read_manifest()["info"], "name": task.export_name(),
                           "infer_cfg": yaml.safe_load((model_dir / "infer_cfg.yml").read_text())})
        write_json(out["manifest"], {"models": models}, indent=True)
        out["readme"].write_text(render_deploy_readme(models))
        for m in models:
            print(f"{m['nb']:40s} {m['size'] / 1e6:6.2f} MB  {data_root() / 'lite' / m['nb']}")
        return {"files": [m["nb"] for m in models]}
