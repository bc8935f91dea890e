"""The README written beside the .nb files: what an app feeds each model, what comes out,
what was checked on x86, and how to run the mobile bundle on a phone."""

from tasks.export.layout.infer_cfg import detector_export, export_kind, keypoint_export
from tasks.export.lite_bundle import DET_DIR, KEYPOINT_DIR


def _header():
    return [
        "# Paddle-Lite models",
        "",
        "Load a file with Paddle-Lite 2.13 (`MobileConfig.set_model_from_file`, ARM CPU).",
        "FP16 files need an ARMv8.2+ CPU with FP16 arithmetic; they are no smaller than FP32",
        "(Paddle-Lite keeps the same file size), the gain is speed.",
        "",
        "| file | precision | inputs | size (bytes) | sha256 |",
        "|---|---|---|---|---|",
    ]


def _shape(shape):
    return "x".join(str(v) for v in [1, *shape[1:]])


# how a codec of tasks.keypoint.codecs places heatmap cells in crop pixels
CELL_TO_PIXELS = {"DarkHeatmap": "times {stride} -> crop pixels",
                  "UDPHeatmap": "on the unbiased grid, times (input - 1) / (heatmap - 1) -> crop pixels"}


def _keypoint_section(m):
    export = keypoint_export(m["infer_cfg"], m["nb"])
    (w, h), decode = export["input_size"], export["decode"]
    lines = ["Input (`image`, NCHW float32, batch 1 or more):", "",
             f"1. Crop each person box to {w}x{h} (w x h): enlarge the box to aspect {w}:{h}, "
             "pad it by 1.25, warp with bilinear interpolation (black outside the image)."]
    lines.append(_normalize_line(export["normalize"]))
    lines.append("3. HWC -> CHW.")
    out = m["x86_fp32_check"]["output_shapes"][0]
    to_pixels = CELL_TO_PIXELS.get(decode["codec"], f"as {decode['codec']} places them -> crop pixels")
    back = "the exact inverse of the crop warp" if decode["udp_backproject"] else "the crop warp"
    lines += ["", f"Output: heatmaps [N, {out[1]}, {out[2]}, {out[3]}], one per COCO keypoint "
              "(nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles; left before right).",
              "Keypoint = argmax of each heatmap refined with DARK (Taylor step on the log of the "
              f"blurred heatmap), {to_pixels.format(stride=w // out[3])}, then mapped back through {back}; "
              "score = heatmap maximum.",
              "", f"Checked: x86 FP32 twin vs Paddle inference on check persons, max abs diff "
              f"{m['x86_fp32_check']['max_abs_diff']:.2g} (heatmaps)."]
    if "fp16_weight_rounding" in m:
        r = m["fp16_weight_rounding"]
        lines.append(f"FP16 (not runnable on x86): weights rounded to float16 move keypoints by at most "
                     f"{r['max_px']:.3f} px (mean {r['mean_px']:.3f}) on the check inputs.")
    return lines


def _normalize_line(normalize):
    if normalize is not None:
        return f"2. RGB order, pixel / 255, minus mean {normalize['mean']}, divided by std {normalize['std']}."
    return "2. RGB order, float 0..255: normalization is inside the network."


def _detector_section(m):
    export = detector_export(m["infer_cfg"], m["nb"])
    (w, h), nms = export["input_size"], export["nms"]
    lines = ["Inputs (NCHW float32; `image` batch B, `scale_factor` [B, 2]):", "",
             f"1. Resize the whole image to {w}x{h} (w x h) without keeping its aspect ratio "
             "(bicubic, cv2 interpolation 2).",
             _normalize_line(export["normalize"]), "3. HWC -> CHW.",
             f"4. `scale_factor` = [{h} / image height, {w} / image width] (y, x).", ""]
    if export["nms_in_graph"]:
        lines += ["Outputs: `bbox` [K, 6] rows (class, score, x1, y1, x2, y2) in original-image pixels, "
                  "the rows of image 0 first, and `bbox_num` [B] int32 (rows per image). Decoding and "
                  f"multiclass NMS run inside the model (Paddle's `multiclass_nms3`: score > "
                  f"{nms['score_threshold']}, IoU {nms['nms_threshold']}, top-k {nms['nms_top_k']}, keep "
                  f"{nms['keep_top_k']}); Paddle-Lite runs it with its host kernel on ARM and on x86, so "
                  f"nothing is left to the app but dropping rows under the draw threshold "
                  f"{export['draw_threshold']}."]
    else:
        lines += ["Outputs, in PaddleDetection's order for an export without NMS: `boxes` [B, N, 4] "
                  "(x1y1x2y2, network-input pixels), then `scores` [B, 1, N]; divide boxes by `scale_factor` "
                  "and run multiclass NMS in the app "
                  f"(score > {nms['score_threshold']}, IoU {nms['nms_threshold']})."]
    check = m["x86_fp32_check"]
    lines += ["", f"Checked: x86 FP32 twin vs Paddle inference on {m['input_shapes'][0][0]} check images, "
              f"every output, max abs diff {check['max_abs_diff']:.2g} "
              f"(output shapes {check['output_shapes']})."]
    if "fp16_weight_rounding" in m:
        r = m["fp16_weight_rounding"]
        lines.append(f"FP16 (not runnable on x86): weights rounded to float16 move the boxes of the "
                     f"{r['anchors']} anchors scoring >= {r['score_floor']} by at most {r['max_px']:.3f} px "
                     f"({r['max_shift']:.2%} of the box side) and "
                     f"scores by at most {r['max_score_diff']:.4f} on the check images.")
    return lines


def _bundle_section(bundles):
    if not bundles:
        return ["", "## Mobile bundle", "",
                "None written: the bundle needs a detector and a keypoint model among the converted models."]
    lines = ["", "## Mobile bundle (PaddleDetection's C++ Paddle-Lite demo)", "",
             f"`mobile/<precision>/` holds everything PaddleDetection's `deploy/lite` demo reads: "
             f"`{DET_DIR}/` and `{KEYPOINT_DIR}/` (each `model.nb` + `infer_cfg.json`), "
             "`keypoint_runtime_config.json` (detector + keypoints), `det_runtime_config.json` "
             "(detector alone), `demo.jpg`, and `bundle.json` (models, sha256, x86 checks).", "",
             "1. Build the demo's `main` for your phone as PaddleDetection's `deploy/lite/README.md` says "
             "(Paddle-Lite 2.13 ARM library built `--with_cv=ON --with_extra=ON`, plus "
             "`--with_arm82_fp16=ON` for FP16; `make ARM_ABI=arm8` in the demo folder).",
             "2. Copy `main` and `libpaddle_light_api_shared.so` into the bundle folder, then:",
             "", "```bash",
             "adb push mobile/fp32 /data/local/tmp/tinypose",
             "adb shell 'cd /data/local/tmp/tinypose && chmod +x main && "
             "LD_LIBRARY_PATH=. ./main keypoint_runtime_config.json'",
             "```", "",
             "Drawn results go to `output/`; `image_dir` in the runtime config (or a folder as the "
             "second argument of `main`) runs a whole folder. `threshold_det` is the detector's draw "
             "threshold, `batch_size_keypoint` persons per TinyPose run, `cpu_threads` 4 as in the "
             "published Snapdragon 865 figures.", "",
             "| bundle | detector | keypoint model | x86 FP32 check (max abs diff det / keypoint) |",
             "|---|---|---|---|"]
    for b in bundles:
        det, kpt = b["models"]["det"], b["models"]["keypoint"]
        lines.append(f"| mobile/{b['folder']} | {det['nb']} | {kpt['nb']} | "
                     f"{det['x86_fp32_check']['max_abs_diff']:.2g} / {kpt['x86_fp32_check']['max_abs_diff']:.2g} |")
    lines += ["", "Not checked here: running the ARM files (no ARM device; an ARM `.nb` has no x86 kernels), "
              "so each ARM file is checked by loading it, its op list, and an x86 FP32 twin converted from "
              "the same export."]
    return lines


def _onnx_section(onnx):
    if not onnx:
        return []
    lines = ["", "## ONNX (onnxruntime)", "",
             "Checked with onnxruntime against Paddle inference on the same images as the `.nb` files. "
             "A detector's ONNX is its export without NMS: outputs `boxes` [B, N, 4] (x1y1x2y2, "
             "network-input pixels) then `scores` [B, 1, N], PaddleDetection's order; NMS runs in the app.", "",
             "| file | opset | max abs diff per output |", "|---|---|---|"]
    for entry in onnx:
        diffs = ", ".join(f"{d:.2g}" for d in entry["check"]["max_abs_diffs"])
        lines.append(f"| {entry['path']} | {entry['opset']} | {diffs} |")
    return lines


def render_deploy_readme(models, bundles=(), onnx=()):
    """Markdown text for ``<data_root>/lite/README.md`` (or a bundle's README.md).

    models: one dict per .nb file, as ``tasks.export.lite.build_lite_model`` returns
    it plus "name" and "infer_cfg" (the exported model's infer_cfg.yml content).
    bundles: ``tasks.export.lite_bundle.write_bundles``' list.
    onnx: the ONNX files listed beside them (``tasks.export.artifacts.write_lite_files``).
    """
    lines = _header()
    for m in models:
        inputs = ", ".join(f"{name} {_shape(shape)}" for name, shape in zip(m["input_names"], m["input_shapes"]))
        lines.append(f"| {m['nb']} | {m['precision']} | {inputs} float32 | {m['size']} | `{m['sha256'][:16]}…` |")
    for m in models:
        lines += ["", f"## {m['nb']}", ""]
        lines += _detector_section(m) if export_kind(m["infer_cfg"]) == "detector" else _keypoint_section(m)
    lines += _bundle_section(list(bundles))
    lines += _onnx_section(list(onnx))
    return "\n".join(lines) + "\n"
