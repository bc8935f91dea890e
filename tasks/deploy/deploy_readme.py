"""The README written beside the .nb files: what an app feeds each model and what comes out."""


def render_deploy_readme(models):
    """Markdown text for ``<data_root>/lite/README.md``.

    models: one dict per .nb file, as ``tasks.deploy.lite.build_lite_model`` returns
    it plus "name" and "infer_cfg" (the exported model's infer_cfg.yml content).
    """
    lines = [
        "# Paddle-Lite models",
        "",
        "Load a file with Paddle-Lite 2.13 (`MobileConfig.set_model_from_file`, ARM CPU).",
        "FP16 files need an ARMv8.2+ CPU with FP16 arithmetic; they are no smaller than FP32",
        "(Paddle-Lite keeps the same file size), the gain is speed.",
        "",
        "| file | precision | input | size (bytes) | sha256 |",
        "|---|---|---|---|---|",
    ]
    for m in models:
        shape = "x".join(str(v) for v in [1, *m["input_shapes"][0][1:]])
        lines.append(f"| {m['nb']} | {m['precision']} | {m['input_names'][0]} {shape} float32 "
                     f"| {m['size']} | `{m['sha256'][:16]}…` |")
    for m in models:
        steps = {s["type"]: s for s in m["infer_cfg"]["Preprocess"]}
        w, h = steps["TopDownEvalAffine"]["trainsize"]
        lines += ["", f"## {m['nb']}", "", "Input (`image`, NCHW float32, batch 1):", ""]
        lines.append(f"1. Crop each person box to {w}x{h} (w x h): enlarge the box to aspect {w}:{h}, "
                     "pad it by 1.25, warp with bilinear interpolation (black outside the image).")
        if "NormalizeImage" in steps:
            n = steps["NormalizeImage"]
            lines.append(f"2. RGB order, pixel / 255, minus mean {n['mean']}, divided by std {n['std']}.")
        else:
            lines.append("2. RGB order, float 0..255: normalization is inside the network.")
        lines.append("3. HWC -> CHW.")
        out = m["x86_fp32_check"]["output_shapes"][0]
        lines += ["", f"Output: heatmaps [N, {out[1]}, {h // 4}, {w // 4}], one per COCO keypoint "
                  "(nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles; left before right).",
                  "Keypoint = argmax of each heatmap refined with DARK (Taylor step on the log of the "
                  "blurred heatmap), times 4 -> crop pixels, then mapped back through the crop warp; "
                  "score = heatmap maximum.",
                  "", f"Checked: x86 FP32 twin vs Paddle inference, max abs diff "
                  f"{m['x86_fp32_check']['max_abs_diff']:.2g}."]
        if "fp16_weight_rounding" in m:
            r = m["fp16_weight_rounding"]
            lines.append(f"FP16 (not runnable on x86): weights rounded to float16 move keypoints by at most "
                         f"{r['max_px']:.3f} px (mean {r['mean_px']:.3f}) on the check inputs.")
    return "\n".join(lines) + "\n"
