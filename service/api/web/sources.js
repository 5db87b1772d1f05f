// Citations: a chip's hover (or focus) previews the cited passage; a click opens the
// whole cleaned document in the source panel with the cited span highlighted.

import { getDocument } from "./api.js";

const $ = (id) => document.getElementById(id);
const documents = new Map(); // "index/doc_id" -> document (text and metadata)
const OCR_NOTE = "This text was read by OCR from a scanned page or image: words may be "
  + "misread, so check the original file.";

function citationOf(chip, lookup) {
  const host = chip.closest("[data-turn]");
  return host ? lookup(host.dataset.turn, Number(chip.dataset.marker)) : null;
}

function showPreview(chip, citation) {
  const preview = $("preview");
  preview.replaceChildren();
  const head = document.createElement("strong");
  head.textContent = [citation.title, citation.source, citation.location?.label]
    .filter(Boolean).join(" — ");
  const body = document.createElement("p");
  body.textContent = citation.text;
  preview.append(head, body);
  preview.hidden = false;
  const box = chip.getBoundingClientRect();
  const width = Math.min(420, window.innerWidth - 16);
  preview.style.width = `${width}px`;
  preview.style.left = `${Math.max(8, Math.min(box.left, window.innerWidth - width - 8))}px`;
  const below = box.bottom + 6;
  const height = preview.offsetHeight;
  preview.style.top = `${below + height < window.innerHeight ? below : Math.max(8, box.top - height - 6)}px`;
  chip.setAttribute("aria-describedby", "preview");
}

function hidePreview() {
  $("preview").hidden = true;
}

function metaRow(list, term, value, href) {
  if (!value) return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  if (href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = value;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    dd.append(a);
  } else {
    dd.textContent = value;
  }
  list.append(dt, dd);
}

function provenanceText(doc) {
  const p = doc.provenance;
  if (!p) return null;
  if (typeof p === "string") return p;
  return [p.origin || p.kind, p.uploaded_at || p.time, p.uploaded_by || p.by].filter(Boolean).join(", ");
}

/** Where the cited span is in the document: the exact offsets, or (if the document has
 * changed since the answer) the passage's text found again. */
function locate(text, citation) {
  if (text.slice(citation.start, citation.end) === citation.text) {
    return { start: citation.start, end: citation.end, moved: false };
  }
  const at = text.indexOf(citation.text);
  return at >= 0 ? { start: at, end: at + citation.text.length, moved: true } : null;
}

export async function openSource(index, citation) {
  const panel = $("source-panel");
  panel.hidden = false;
  document.body.classList.add("source-open");
  $("source-title").textContent = citation.title;
  $("source-meta").replaceChildren();
  $("source-note").textContent = "Loading the document…";
  $("source-text").replaceChildren();
  const key = `${index}/${citation.doc_id}`;
  let doc = documents.get(key);
  try {
    if (!doc) {
      doc = await getDocument(index, citation.doc_id);
      documents.set(key, doc);
    }
  } catch (error) {
    $("source-note").textContent = `Could not load ${citation.doc_id}: ${error.message}`;
    return;
  }
  renderSource(doc, citation);
}

function renderSource(doc, citation) {
  $("source-title").textContent = doc.title || citation.title;
  const meta = $("source-meta");
  metaRow(meta, "Source", doc.source);
  metaRow(meta, "From", doc.author);
  metaRow(meta, "Date", doc.date);
  metaRow(meta, "Where", citation.location?.label);
  metaRow(meta, "Attached to", doc.parent);
  metaRow(meta, "URL", doc.url, doc.url);
  metaRow(meta, "Origin", provenanceText(doc));
  metaRow(meta, "Document", doc.id);
  const span = locate(doc.text, citation);
  const text = $("source-text");
  if (!span) {
    $("source-note").textContent = "This document has changed since the answer: the cited passage is no longer in it.";
    text.textContent = doc.text;
    return;
  }
  const where = citation.location ? ` (${citation.location.label})` : "";
  $("source-note").textContent = (span.moved
    ? "This document has changed since the answer; the cited passage was found again."
    : `Cited passage [${citation.marker}]${where}: characters ${span.start}–${span.end}.`)
    + (citation.location?.ocr ? " " + OCR_NOTE : "");
  const mark = document.createElement("mark");
  mark.id = "cited-span";
  mark.textContent = doc.text.slice(span.start, span.end);
  text.replaceChildren(doc.text.slice(0, span.start), mark, doc.text.slice(span.end));
  mark.scrollIntoView({ block: "center" });
}

export function closeSource() {
  $("source-panel").hidden = true;
  document.body.classList.remove("source-open");
}

/** Forget cached documents (after an upload or delete). */
export function forgetDocuments() {
  documents.clear();
}

/**
 * Wire chips under `root`: lookup(turnId, marker) returns {index, citation} or null.
 */
export function wireCitations(root, lookup) {
  const find = (target) => {
    const chip = target.closest?.(".chip");
    const found = chip && citationOf(chip, lookup);
    return found ? { chip, ...found } : null;
  };
  root.addEventListener("mouseover", (e) => {
    const hit = find(e.target);
    if (hit) showPreview(hit.chip, hit.citation);
  });
  root.addEventListener("focusin", (e) => {
    const hit = find(e.target);
    if (hit) showPreview(hit.chip, hit.citation);
  });
  root.addEventListener("mouseout", (e) => { if (find(e.target)) hidePreview(); });
  root.addEventListener("focusout", hidePreview);
  root.addEventListener("click", (e) => {
    const hit = find(e.target);
    if (!hit) return;
    hidePreview();
    for (const active of root.querySelectorAll(".chip.active")) active.classList.remove("active");
    hit.chip.classList.add("active");
    openSource(hit.index, hit.citation);
  });
  $("source-close").addEventListener("click", closeSource);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      hidePreview();
      if (!$("source-panel").hidden) {
        closeSource();
        root.querySelector(".chip.active")?.focus();
      }
    }
  });
}
