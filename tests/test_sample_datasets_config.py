"""The generated datasets.yml goes through the real config loader, download, extract and locate."""
import json

from tasks.datasets.config import load_datasets_config
from tasks.datasets.download import download
from tasks.datasets.extract import extract
from tasks.datasets.locate import locate_entry
from tasks.sample.generate import SampleSizes, generate_sample


def test_sample_archives_fetch_extract_and_locate(tmp_path):
    result = generate_sample(tmp_path / "sample", sizes=SampleSizes(4, 3, 8, 5))
    config = load_datasets_config(result["datasets_yml"])
    found = {}
    for group, archives in config.items():
        for name, entry in archives.items():
            archive = tmp_path / "downloads" / entry["filename"]
            download([entry["url"]], archive, entry["md5"], progress=False)
            root = extract(archive, tmp_path / "extracted" / group / name, progress=False)
            found[f"{group}/{name}"] = locate_entry(root, entry)
    assert len(list(found["coco/train2017"]["images"].glob("*.jpg"))) == 4
    assert len(list(found["coco/val2017"]["images"].glob("*.jpg"))) == 3
    files = found["coco/annotations_trainval2017"]["files"]
    assert len(json.loads(files["val"].read_text())["images"]) == 3
    aic = found["aic/keypoint_train"]
    records = json.loads(aic["annotations"].read_text())
    assert len(records) == 8
    # index 7 of AIC train is the record whose human lacks its box; its image is there
    assert len(list(aic["images"].glob("*.jpg"))) == 8
