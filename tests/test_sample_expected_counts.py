"""The manifest's expected AIC counts are what the real converter reports on the sample."""
import zipfile

import pytest

from tasks.annotations import aic_to_coco
from tasks.sample.generate import AIC_LAYOUT, SampleSizes, generate_sample


@pytest.mark.parametrize("split", ["train", "validation"])
def test_converter_rejects_exactly_the_listed_aic_records(tmp_path, split):
    result = generate_sample(tmp_path / "sample", sizes=SampleSizes(1, 1, 60, 8))
    top, image_dir, annotation_file = AIC_LAYOUT[split]
    with zipfile.ZipFile(tmp_path / "sample" / f"{top}.zip") as zf:
        zf.extractall(tmp_path / "x")
    report = aic_to_coco.convert_aic(tmp_path / "x" / top / annotation_file,
                                     tmp_path / "x" / top / image_dir,
                                     tmp_path / "out.json", progress=False)
    expected = result["counts"]["aic"][split]
    assert report["input_humans"] == expected["humans"]
    assert report["kept_humans"] == expected["humans_kept"]
    assert report["rejected_humans_by_reason"] == expected["rejected_by_reason"]
    assert report["kept_images"] == expected["images_kept"]
    listed = {(r["image_id"], r["human"], r["reason"]) for r in expected["bad_records"]}
    rejected = {tuple(item) for item in report["rejections"]}
    assert {item for item in listed if item[1]} <= rejected
