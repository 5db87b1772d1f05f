// One answer on the page: sentences with their verification verdict, citation chips, the
// abstention / fallback labels, and the answer as Markdown with its sources.

const MARKERS = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
// A sentence ends at . ! ? (maybe followed by a closing quote and markers) before a space
// and a word that does not start in lower case ("U.S. officials" is one sentence), or at
// a line break (a list item without a full stop), as the service splits it.
const SENTENCE_END = /[.!?…][”"’)]?(?:\s*\[\d+(?:\s*,\s*\d+)*\])*(?=\s+[^\s\p{Ll}]|\s*$)|(?=\n)/gu;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function words(text) {
  return new Set((text.toLowerCase().replace(MARKERS, " ").match(/[\p{L}\p{N}]+/gu) || [])
    .filter((w) => w.length > 2));
}

function overlap(a, b) {
  if (!a.size || !b.size) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared += 1;
  return shared / Math.min(a.size, b.size);
}

/** Split the answer into sentences: [{text, start, end}]. */
export function splitSentences(text) {
  const spans = [];
  let start = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    if (text.slice(start, end).trim()) spans.push({ start, end });
    start = end;
  }
  if (text.slice(start).trim()) spans.push({ start, end: text.length });
  return spans.map((s) => ({ ...s, text: text.slice(s.start, s.end) }));
}

/**
 * Pair each sentence of the shown answer with its verification row. The answer's text may
 * differ from the verified sentence (source attribution is added after verification), so
 * rows are matched in order by shared words.
 */
export function pairVerification(sentences, rows) {
  let next = 0;
  return sentences.map((sentence) => {
    const mine = words(sentence.text);
    for (let i = next; i < rows.length; i += 1) {
      if (overlap(mine, words(rows[i].sentence)) >= 0.6) {
        next = i + 1;
        return { ...sentence, check: rows[i] };
      }
    }
    return { ...sentence, check: null };
  });
}

/** supported | unverified | contradicted | not-found, and the words shown on hover. */
export function verdictOf(check) {
  if (!check) return null;
  // The support model says not_found; the page spells it not-found.
  const verdict = (check.verdict || (check.supported ? "supported" : "unverified")).replace("_", "-");
  const cites = check.markers.length ? check.markers.map((m) => `[${m}]`).join(" ") : "no passage";
  const reasons = {
    supported: `Supported by ${cites}`,
    unverified: `Not confirmed by ${cites}: check the source`,
    contradicted: `Contradicted by ${cites}`,
    "not-found": `Not found in ${cites}`,
  };
  let reason = check.reason || reasons[verdict] || verdict;
  reason += ` (support score ${Number(check.score).toFixed(2)}`;
  if (check.action === "recited") reason += "; citation moved to the passage that supports it";
  reason += ")";
  // The verifier named who the passage reports as saying it (service/verify/speakers.py).
  if (check.speaker) reason += `. The source reports this as the words of ${check.speaker}.`;
  return { verdict, reason };
}

function appendWithChips(parent, text, citationsByMarker) {
  let last = 0;
  for (const match of text.matchAll(MARKERS)) {
    parent.append(text.slice(last, match.index));
    for (const marker of match[1].split(",").map((m) => Number(m.trim()))) {
      const citation = citationsByMarker.get(marker);
      const chip = el("button", "chip", String(marker));
      chip.type = "button";
      chip.dataset.marker = String(marker);
      if (citation) {
        chip.setAttribute("aria-label", `Source ${marker}: ${citation.title}`);
      } else {
        chip.disabled = true;
      }
      parent.append(chip);
    }
    last = match.index + match[0].length;
  }
  parent.append(text.slice(last));
}

/** The finished answer's body: sentences (with verdicts) holding citation chips. */
export function renderAnswerBody(answer) {
  const body = el("div", "answer-body");
  const citations = new Map(answer.citations.map((c) => [c.marker, c]));
  const sentences = pairVerification(splitSentences(answer.answer), answer.verification || []);
  let last = 0;
  for (const sentence of sentences) {
    body.append(answer.answer.slice(last, sentence.start));
    const span = el("span", "sentence");
    const verdict = verdictOf(sentence.check);
    if (verdict) {
      span.dataset.verdict = verdict.verdict;
      span.title = verdict.reason;
    }
    appendWithChips(span, sentence.text, citations);
    if (verdict && verdict.verdict !== "supported") {
      const badge = el("span", "verdict-badge", verdict.verdict === "unverified" ? "?" : "!");
      badge.setAttribute("aria-label", verdict.reason);
      badge.title = verdict.reason;
      span.append(badge);
    }
    body.append(span);
    last = sentence.end;
  }
  body.append(answer.answer.slice(last));
  return body;
}

/** Labels above the answer: abstained, fallback, revised, unverified, generator. */
export function renderLabels(answer) {
  const labels = el("div", "labels");
  if (answer.abstained) {
    labels.append(el("span", "label label-abstained", "No answer in the sources"));
  }
  if (answer.fallback) {
    const label = el("span", "label label-fallback", "Quoted from the sources (language model unavailable)");
    label.title = answer.fallback;
    labels.append(label);
  }
  if (answer.quoted) {
    const label = el("span", "label label-fallback", "Quoted: the model found no answer");
    label.title = "The model found no answer in the sources. They share most of your " +
      "question's words, so the sentences that match it best are quoted; they may not answer it.";
    labels.append(label);
  }
  if (answer.revised) {
    const label = el("span", "label label-revised", "Answered again after checking");
    label.title = "The model's first answer contradicted a passage it cited, so it was asked " +
      "again; this second answer is the one checked below.";
    labels.append(label);
  }
  const unverified = (answer.verification || []).filter((row) => !(row.verdict
    ? row.verdict === "supported" : row.supported)).length;
  if (unverified) {
    labels.append(el("span", "label label-unverified",
      `${unverified} sentence${unverified > 1 ? "s" : ""} not confirmed by the sources`));
  }
  const generator = el("span", "label label-generator", answer.generator);
  generator.title = `Answered by the ${answer.generator} generator`;
  labels.append(generator);
  return labels;
}

/** The answer and its numbered sources as Markdown. */
export function answerMarkdown(question, answer) {
  const lines = [`**Q:** ${question}`, "", answer.answer];
  if (answer.citations.length) {
    lines.push("", "Sources:");
    for (const c of answer.citations) {
      const where = [c.source, c.date].filter(Boolean).join(", ");
      const title = c.url ? `[${c.title}](${c.url})` : c.title;
      lines.push(`${c.marker}. ${title}${where ? ` — ${where}` : ""} (${c.doc_id}, chars ${c.start}–${c.end})`);
      lines.push(`   > ${c.text.replace(/\s+/g, " ").trim()}`);
    }
  }
  return lines.join("\n");
}
