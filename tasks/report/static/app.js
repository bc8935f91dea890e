// The report page: sections shown by the URL's #hash, data loaded as scripts when shown
// (browsers refuse fetch() of file:// JSON). REPORT comes from report_index.js, each page
// of thumbnails from a data_NNN.js that sets REPORT_PAGES[name].
"use strict";

const loaded = {};

function loadData(name) {
  if (!loaded[name]) {
    loaded[name] = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "pages/" + name + ".js";
      script.onload = () => resolve(window.REPORT_PAGES[name]);
      script.onerror = () => reject(new Error("cannot load pages/" + name + ".js"));
      document.head.appendChild(script);
    });
  }
  return loaded[name];
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function grid(items, wide) {
  const box = el("div", {class: wide ? "grid wide" : "grid"});
  for (const item of items) {
    box.append(el("figure", {title: item.title},
      el("img", {src: item.thumb, alt: item.title}),
      el("figcaption", {text: item.caption})));
  }
  if (!items.length) box.append(el("p", {class: "muted", text: "nothing to show"}));
  return box;
}

function body(section) {
  return document.querySelector("#section-" + section + " .body");
}

// --- dataset browser ---------------------------------------------------------------
const browseState = {source: 0, bucket: 0, page: 0};

function renderBrowse() {
  const root = body("browse");
  root.replaceChildren();
  const sources = REPORT.browse;
  const sourceSelect = el("select", {id: "source-filter"});
  sources.forEach((source, i) => sourceSelect.append(el("option", {value: i,
    text: source.title + " (" + source.images + " images)"})));
  sourceSelect.value = browseState.source;
  const bucketSelect = el("select", {id: "persons-filter"});
  const source = sources[browseState.source];
  source.buckets.forEach((bucket, i) => bucketSelect.append(el("option", {value: i,
    text: bucket.label + " (" + bucket.total + ")"})));
  bucketSelect.value = browseState.bucket;
  const bucket = source.buckets[browseState.bucket];
  const pageCount = bucket.pages.length;
  const previous = el("button", {id: "page-previous", text: "previous"});
  const next = el("button", {id: "page-next", text: "next"});
  previous.disabled = browseState.page <= 0;
  next.disabled = browseState.page >= pageCount - 1;
  const label = el("span", {id: "page-label",
    text: pageCount ? "page " + (browseState.page + 1) + " of " + pageCount : "no page"});
  sourceSelect.onchange = () => { Object.assign(browseState, {source: +sourceSelect.value, bucket: 0, page: 0}); renderBrowse(); };
  bucketSelect.onchange = () => { Object.assign(browseState, {bucket: +bucketSelect.value, page: 0}); renderBrowse(); };
  previous.onclick = () => { browseState.page -= 1; renderBrowse(); };
  next.onclick = () => { browseState.page += 1; renderBrowse(); };
  root.append(el("div", {class: "controls"},
    el("label", {text: "source "}, sourceSelect), el("label", {text: "persons "}, bucketSelect),
    previous, label, next));
  const shown = pageCount ? Math.min(bucket.total, bucket.pages.length * REPORT.per_page) : 0;
  root.append(el("p", {class: "muted", id: "browse-note", text: (source.side_by_side ?
    "Each picture twice: left the raw AI Challenger 14 joints, right the converted COCO 17. " : "") +
    "Left side warm (orange), right side cool (blue). " + bucket.total + " images in this group, " +
    shown + " shown, spread evenly over it."}));
  const holder = el("div", {id: "browse-grid"});
  root.append(holder);
  if (pageCount) {
    loadData(bucket.pages[browseState.page]).then(items => holder.replaceChildren(grid(items, source.side_by_side)));
  }
}

// --- rejections --------------------------------------------------------------------
function renderRejections() {
  const root = body("rejections");
  root.replaceChildren();
  if (!REPORT.rejections.length) root.append(el("p", {text: "No report with rejections found."}));
  for (const group of REPORT.rejections) {
    root.append(el("h3", {}, el("a", {href: group.href, text: group.report}),
      " (" + group.stage + "): " + group.total + " rejected records"));
    if (!group.reasons.length) root.append(el("p", {class: "muted", text: "nothing rejected"}));
    for (const reason of group.reasons) {
      const holder = el("div", {class: "reason"});
      root.append(el("h4", {class: "reason-title", text: reason.reason + ": " + reason.count +
        (reason.count > reason.shown ? " (first " + reason.shown + " shown)" : "")}), holder);
      loadData(reason.items).then(items => holder.replaceChildren(grid(items, false)));
    }
  }
}

// --- numbers -----------------------------------------------------------------------
function summaryNode(file) {
  const summary = file.summary;
  if (file.show === "image") return el("img", {class: "plot", src: file.href, alt: file.path});
  if (summary === null || summary === undefined) return null;
  if (typeof summary === "string") return el("pre", {text: summary});
  const table = el("table", {class: "summary"});
  for (const [key, value] of Object.entries(summary)) {
    table.append(el("tr", {}, el("th", {text: key}), el("td", {text: String(value)})));
  }
  return table;
}

function renderNumbers() {
  const root = body("numbers");
  root.replaceChildren();
  for (const artifact of REPORT.artifacts) {
    root.append(el("h3", {text: artifact.label}));
    if (artifact.missing) {
      root.append(el("p", {class: "missing"}, "not built yet: ", el("code", {text: artifact.missing})));
    }
    for (const file of artifact.files) {
      root.append(el("div", {class: "artifact"}, el("a", {href: file.href, text: file.path}), summaryNode(file)));
    }
  }
}

// --- error analysis ----------------------------------------------------------------
const COLUMNS = ["joint", "AP", "good", "jitter", "inversion", "swap", "miss"];

function renderErrors() {
  const root = body("errors");
  root.replaceChildren();
  root.append(el("p", {class: "muted", text: REPORT.error_help}));
  if (!REPORT.models.length) {
    root.append(el("p", {class: "missing"}, "not built yet: ", el("code", {text: REPORT.error_command})));
  }
  for (const model of REPORT.models) {
    root.append(el("h3", {text: model.name}));
    root.append(el("p", {text: model.images + " images; " + model.matched + " predictions matched to a person, " +
      model.unmatched_predictions + " unmatched, " + model.unmatched_persons + " persons without a prediction. "},
      el("a", {href: model.href, text: model.results})));
    const table = el("table", {class: "errors"});
    table.append(el("tr", {}, ...COLUMNS.map(name => el("th", {text: name}))));
    for (const row of model.per_joint) {
      table.append(el("tr", {}, ...COLUMNS.map(name => el("td", {text: String(row[name])}))));
    }
    table.append(el("tr", {class: "total"}, el("th", {text: "all joints"}), el("td", {text: ""}),
      ...COLUMNS.slice(2).map(name => el("td", {text: String(model.totals[name])}))));
    root.append(table);
    for (const [kind, name] of Object.entries(model.worst)) {
      const holder = el("div", {class: "worst"});
      root.append(el("h4", {text: "worst " + kind}), holder);
      loadData(name).then(items => holder.replaceChildren(grid(items, false)));
    }
  }
}

// --- sections ----------------------------------------------------------------------
const RENDER = {browse: renderBrowse, rejections: renderRejections, numbers: renderNumbers, errors: renderErrors};
const rendered = {};

function showSection() {
  const wanted = location.hash.slice(1);
  const section = RENDER[wanted] ? wanted : "browse";
  for (const key of Object.keys(RENDER)) {
    document.getElementById("section-" + key).hidden = key !== section;
    document.querySelector('nav a[data-section="' + key + '"]').classList.toggle("active", key === section);
  }
  if (!rendered[section]) {
    rendered[section] = true;
    RENDER[section]();
  }
}

window.addEventListener("hashchange", showSection);
showSection();
