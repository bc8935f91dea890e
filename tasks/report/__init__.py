"""The offline HTML report of a data root (`BuildReport`, `<data_root>/report/index.html`).

Modules, one job each: `records` (reading boxes and keypoints out of records that may be
malformed), `images` (image paths confined to the data root's image folders), `drawing`
(what a thumbnail shows), `thumbnails` (content-named JPEGs rendered in parallel),
`browse`, `rejections`, `artifacts` and `error_analysis` (what each section holds), `page`
(the static files) and `build` (all of it, for the node).
"""
