"""BuildReport on the sample models' data root, and the page checked in headless Chromium:
no console error, every visible thumbnail loads, the filters change what is shown. A
screenshot of each section is kept in the test's temp folder."""
import json
import re

import pytest

from pipeline_helpers import build, pipeline_root

pytestmark = pytest.mark.slow

SECTIONS = ("browse", "rejections", "numbers", "errors")


def read_script(path, target):
    """The JSON a report script assigns to `target`."""
    text = path.read_text()
    return json.loads(re.search(re.escape(target) + r" = (.*);\n$", text, re.S).group(1))


@pytest.fixture(scope="module")
def report(sample_models):
    from pipeline.tasks import BuildReport
    with pipeline_root(sample_models["root"], sample_models["datasets"]):
        node = BuildReport()
        build(node)
        yield {"node": node, "outputs": node.outputs(), "root": sample_models["root"],
               "index": read_script(node.outputs()["pages"] / "report_index.js", "window.REPORT")}


def test_the_report_holds_every_source_rejection_and_model(report):
    index, root = report["index"], report["root"]
    sources = {source["key"]: source for source in index["browse"]}
    assert list(sources) == ["coco_train", "coco_val", "aic_train"]
    assert sources["aic_train"]["side_by_side"] and not sources["coco_train"]["side_by_side"]
    for source in sources.values():
        assert source["persons"] > 0 and source["buckets"][0]["key"] == "all"
        assert source["buckets"][0]["total"] == source["images"]
    conversion = json.loads((root / "annotations" / "aic_train_conversion_report.json").read_text())
    group = next(g for g in index["rejections"] if g["report"] == "annotations/aic_train_conversion_report.json")
    expected = {}
    for _, _, reason in conversion["rejections"]:
        expected[reason] = expected.get(reason, 0) + 1
    assert {r["reason"]: r["count"] for r in group["reasons"]} == expected and group["total"] == sum(expected.values())
    pages = report["outputs"]["pages"]
    for reason in group["reasons"]:
        items = read_script(pages / f"{reason['items']}.js", f'window.REPORT_PAGES["{reason["items"]}"]')
        assert len(items) == reason["shown"] == min(reason["count"], 12)
        assert all((report["outputs"]["index"].parent / item["thumb"]).is_file() for item in items)
    model = next(m for m in index["models"] if m["name"] == "tinypose_test (ground-truth boxes)")
    assert [row["joint"] for row in model["per_joint"]][:3] == ["nose", "left_eye", "right_eye"]
    labeled = sum(a["num_keypoints"] for a in json.loads(
        (root / "extracted/coco/annotations_trainval2017/annotations/person_keypoints_val2017.json").read_text())
        ["annotations"] if not a["iscrowd"])
    assert sum(model["totals"].values()) == labeled   # every labeled joint of the matched persons is classified
    analysis = json.loads(report["outputs"]["analysis"].read_text())
    assert [m["name"] for m in analysis["models"]] == [m["name"] for m in index["models"]]
    numbers = {artifact["label"]: artifact for artifact in index["artifacts"]}
    assert numbers["Merge reports"]["files"] and numbers["Training curves"]["files"]
    lite = numbers["Paddle-Lite manifest"]   # other tests of the run may have built it in this data root
    assert lite["files"] if (root / "lite" / "manifest.json").is_file() else \
        lite["missing"] == "luigi --module pipeline.tasks ExportLiteModels"


def test_a_rerun_renders_nothing(report):
    node, outputs = report["node"], report["outputs"]
    assert node.complete()
    before = outputs["index"].read_bytes(), sorted(p.name for p in outputs["thumbs"].iterdir())
    node.manifest_path().unlink()    # forces a rebuild with the same inputs
    build(node)
    info = node.read_manifest()["info"]
    assert info["rendered"] == 0 and info["reused"] == info["thumbnails"] > 0
    assert (outputs["index"].read_bytes(), sorted(p.name for p in outputs["thumbs"].iterdir())) == before


def changed(driver, before):
    """The visible images once they differ from `before` (the grid loads its page script first)."""
    from selenium.webdriver.support.ui import WebDriverWait
    from tasks.report.browser import visible_images
    return WebDriverWait(driver, 20).until(lambda drv: (now := visible_images(drv)) != before and now)


def test_the_page_in_headless_chromium(report, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    from tasks.report.browser import console_errors, headless_chromium, visible_images
    url = report["outputs"]["index"].resolve().as_uri()
    with headless_chromium(tmp_path / "profile") as driver:
        for section in SECTIONS:
            driver.get(f"{url}#{section}")
            images = visible_images(driver)
            assert images and all(width > 0 for _, width in images), (section, images)
            assert console_errors(driver) == [], section
            driver.save_screenshot(str(tmp_path / f"{section}.png"))
        driver.get(url)
        shown = visible_images(driver)
        Select(driver.find_element(By.ID, "persons-filter")).select_by_index(2)     # "1 person"
        one_person = changed(driver, shown)
        captions = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#browse-grid figcaption")]
        assert captions and all(c.endswith("· 1 person") for c in captions)
        Select(driver.find_element(By.ID, "source-filter")).select_by_index(2)      # AI Challenger train
        aic = changed(driver, one_person)
        assert not set(aic) & set(shown) and "raw AI Challenger" in driver.find_element(By.ID, "browse-note").text
        driver.find_element(By.ID, "page-next").click()
        assert changed(driver, aic) and "page 2" in driver.find_element(By.ID, "page-label").text
        driver.save_screenshot(str(tmp_path / "browse_aic_page2.png"))
        assert console_errors(driver) == []
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        [f"{s}.png" for s in SECTIONS] + ["browse_aic_page2.png"])
