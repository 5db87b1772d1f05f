// The documents view: the index's documents, uploads (several files, drag and drop) with
// the ingestion job's progress, delete, and the API's reasons for refusing a file.

import { AuthError, deleteDocument, getJob, listDocuments, uploadDocuments } from "./api.js";
import { forgetDocuments } from "./sources.js";

const $ = (id) => document.getElementById(id);
let hooks = { index: () => "", onAuth: () => {} };

/** The API's refusal of a file, in plain words. */
export function plainError(error) {
  const what = {
    400: "The request was not accepted",
    413: "Too large",
    415: "Not a supported file type",
    422: "The file could not be read",
    409: "The index is busy",
    503: "The index is not available",
  }[error.status];
  return what ? `${what}: ${error.message}` : error.message;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function origin(doc) {
  const p = doc.provenance;
  if (!p) return "";
  return typeof p === "string" ? p : p.origin || p.kind || "";
}

export async function refreshDocuments() {
  const index = hooks.index();
  $("documents-index").textContent = index;
  const status = $("documents-status");
  // No rows from an earlier listing while this one loads: a click must not land on a row
  // that is about to be replaced.
  $("documents-table").tBodies[0].replaceChildren();
  try {
    const list = await listDocuments(index);
    const skipped = list.skipped || [];
    status.textContent = `${list.data.length} document${list.data.length === 1 ? "" : "s"}, `
      + `generation ${list.generation}` + (skipped.length ? `; ${skipped.length} not indexed` : "")
      + `. ${typeCounts(list.types || {})}`;
    $("documents-table").tBodies[0].replaceChildren(...list.data.map(documentRow));
    $("documents-skipped-heading").hidden = !skipped.length;
    $("documents-skipped").replaceChildren(...skipped.map((s) => {
      const item = el("li", "skipped");
      item.dataset.doc = s.doc_id;
      item.append(el("span", "doc-id", s.doc_id), ` — ${s.kind}: ${s.reason}`);
      return item;
    }));
  } catch (error) {
    if (error instanceof AuthError) hooks.onAuth(error);
    status.textContent = `Could not list the documents: ${error.message}`;
  }
}

/** "By type: docx 2 indexed; mp4 1 unsupported." */
function typeCounts(types) {
  const parts = Object.entries(types).map(([type, counts]) =>
    `${type} ${Object.entries(counts).map(([what, n]) => `${n} ${what}`).join(", ")}`);
  return parts.length ? `By type: ${parts.join("; ")}.` : "";
}

function documentRow(doc) {
  const row = el("tr");
  row.dataset.doc = doc.id;
  const title = el("td");
  const notes = [doc.type, doc.parent ? `attached to ${doc.parent}` : "",
    doc.ocr ? "read by OCR" : ""].filter(Boolean).join(", ");
  title.append(el("span", "doc-title", doc.title || doc.id),
    el("span", "doc-id", notes ? `${doc.id} (${notes})` : doc.id));
  const actions = el("td");
  if (!doc.parent) { // an attachment goes with its message
    const remove = el("button", "danger", "Delete");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete ${doc.id}`);
    remove.addEventListener("click", () => removeDocument(doc));
    actions.append(remove);
  }
  row.append(title, el("td", "", doc.source || ""), el("td", "", doc.date || ""),
    el("td", "", origin(doc)), el("td", "num", String(doc.chunks)), actions);
  return row;
}

async function removeDocument(doc) {
  if (!confirm(`Delete ${doc.title || doc.id} from the index?`)) return;
  const item = el("li", "upload", `Deleting ${doc.id}…`);
  $("uploads").prepend(item);
  try {
    const { job } = await deleteDocument(hooks.index(), doc.id);
    await follow(job, item, doc.id, "deleted");
  } catch (error) {
    item.textContent = `${doc.id}: ${plainError(error)}`;
    item.classList.add("failed");
  }
}

function describe(job) {
  const r = job.report;
  if (!r) return job.status;
  const count = (v) => (Array.isArray(v) ? v.length : v);
  const parts = [`${count(r.added)} added`, `${count(r.updated)} updated`, `${count(r.deleted)} deleted`];
  if (r.skipped.length) parts.push(`not indexed: ${r.skipped.map((s) => `${s.doc_id} (${s.reason})`).join("; ")}`);
  return parts.join(", ");
}

/** Poll a job until it ends, showing its state in `item`: "<name>: <what happened>". */
async function follow(job, item, name, done) {
  const text = el("span", "", `${name}: indexing (${job.status})… `);
  const bar = el("progress");
  bar.setAttribute("aria-label", `Indexing ${name}`);
  item.replaceChildren(text, bar);
  item.dataset.job = job.id;
  while (job.status === "queued" || job.status === "running") {
    await new Promise((r) => setTimeout(r, 400));
    job = await getJob(job.id);
    text.textContent = `${name}: indexing (${job.status})… `;
  }
  bar.remove();
  item.dataset.status = job.status;
  item.classList.add(job.status);
  text.textContent = job.status === "succeeded" ? `${name}: ${done} (${describe(job)}).`
    : `${name}: indexing failed: ${job.error}`;
  forgetDocuments();
  await refreshDocuments();
}

async function uploadOne(file) {
  const item = el("li", "upload", `Uploading ${file.name}…`);
  item.dataset.file = file.name;
  $("uploads").prepend(item);
  try {
    const { job } = await uploadDocuments(hooks.index(), [file]);
    await follow(job, item, file.name, "added");
  } catch (error) {
    if (error instanceof AuthError) hooks.onAuth(error);
    item.textContent = `${file.name}: ${plainError(error)}`;
    item.classList.add("failed");
    item.dataset.status = "refused";
  }
}

/** Each file is uploaded on its own, so one bad file does not hold back the others. */
export async function uploadFiles(files) {
  await Promise.all([...files].map(uploadOne));
}

export function initDocuments(options) {
  hooks = options;
  const zone = $("drop-zone");
  const input = $("file-input");
  input.addEventListener("change", () => {
    uploadFiles(input.files);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    uploadFiles(e.dataTransfer.files);
  });
}
