"""The report's static files: a small index.html, the script and style, and the data.

Browsers refuse fetch() of file:// JSON, so data travels as small scripts: `report_index.js`
(what every section lists: sources and their page files, rejection reasons, artifacts,
error tables) and one `data_NNN.js` per page of thumbnails, loaded with a <script> tag
when that page is shown. Each assigns a global (REPORT, REPORT_PAGES[name]).
"""
import html
import shutil
from pathlib import Path

import orjson

__all__ = ["PAGES_FOLDER", "write_site"]

STATIC = Path(__file__).with_name("static")
PAGES_FOLDER = "pages"   # pages_dir's final name: index.html and app.js refer to it
SECTIONS = (("browse", "Dataset browser"), ("rejections", "Rejections"), ("numbers", "Numbers"),
            ("errors", "Error analysis"))


def write_site(site: dict, index_html: Path, pages_dir: Path):
    """Write `site` (title, browse, rejections, artifacts, models; thumbnails as items
    {"thumb", "title", "caption"}) as index.html + pages_dir/ (report_index.js, app.js,
    style.css, data_NNN.js)."""
    pages_dir.mkdir(parents=True, exist_ok=True)
    for name in ("app.js", "style.css"):
        shutil.copyfile(STATIC / name, pages_dir / name)
    writer = _PageFiles(pages_dir)
    index = {**site,
             "browse": [{**source, "buckets": [{**bucket, "pages": [writer.add(items) for items in bucket["pages"]]}
                                               for bucket in source["buckets"]]} for source in site["browse"]],
             "rejections": [{**group, "reasons": [{**reason, "items": writer.add(reason["items"])}
                                                  for reason in group["reasons"]]} for group in site["rejections"]],
             "models": [{**model, "worst": {kind: writer.add(items) for kind, items in model["worst"].items()}}
                        for model in site["models"]]}
    _write_script(pages_dir / "report_index.js", "window.REPORT", index)
    index_html.write_text(_index_html(site["title"], PAGES_FOLDER), encoding="utf-8")
    return writer.count


class _PageFiles:
    """Numbers the data files: data_000.js, data_001.js..."""

    def __init__(self, folder: Path):
        self.folder, self.count = folder, 0

    def add(self, items: list) -> str:
        name = f"data_{self.count:03d}"
        self.count += 1
        _write_script(self.folder / f"{name}.js", f"window.REPORT_PAGES[{_json(name)}]", items)
        return name


def _write_script(path: Path, target: str, value):
    path.write_text(f"window.REPORT_PAGES = window.REPORT_PAGES || {{}};\n{target} = {_json(value)};\n",
                    encoding="utf-8")


def _json(value) -> str:
    # "</" would end an inline script; the files are external, but keep them safe to inline too
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode().replace("</", "<\\/")


def _index_html(title: str, pages: str) -> str:
    nav = "".join(f'<a href="#{key}" data-section="{key}">{label}</a>' for key, label in SECTIONS)
    sections = "".join(f'<section id="section-{key}" hidden><h2>{label}</h2><div class="body"></div></section>'
                       for key, label in SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{pages}/style.css">
</head>
<body>
<header><h1>{html.escape(title)}</h1><nav>{nav}</nav></header>
<main>{sections}</main>
<script src="{pages}/report_index.js"></script>
<script src="{pages}/app.js"></script>
</body>
</html>
"""
