// Calls to the rag-service API: the bearer key, errors in plain words, and the
// OpenAI-format server-sent events of /v1/chat/completions.

const KEY_STORAGE = "rag.apiKey";

/** The server refused the key (or none was sent): the page asks for one. */
export class AuthError extends Error {
  constructor(hadKey) {
    super(hadKey ? "The server did not accept this API key." : "This server needs an API key.");
    this.hadKey = hadKey;
  }
}

/** Any other error the API answered with, in its own words. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function failure(response) {
  if (response.status === 401) return new AuthError(Boolean(apiKey()));
  let message = `${response.status} ${response.statusText}`;
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error) ({ message, code } = body.error);
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(response.status, message, code);
}

export async function request(path, { method = "GET", json, body, signal } = {}) {
  const init = { method, signal, headers: headers(json ? { "Content-Type": "application/json" } : {}) };
  if (json !== undefined) init.body = JSON.stringify(json);
  else if (body !== undefined) init.body = body;
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response.json();
}

export const listIndexes = () => request("/v1/models").then((r) => r.data.map((m) => m.id));
export const listDocuments = (index) => request(`/v1/indexes/${encodeURIComponent(index)}/documents`);
export const getDocument = (index, docId) =>
  request(`/v1/indexes/${encodeURIComponent(index)}/documents/${encodeURIComponent(docId)}`);
export const deleteDocument = (index, docId) =>
  request(`/v1/indexes/${encodeURIComponent(index)}/documents/${encodeURIComponent(docId)}`,
    { method: "DELETE" });
export const getJob = (id) => request(`/v1/jobs/${encodeURIComponent(id)}`);
export const sendFeedback = (body) => request("/v1/feedback", { method: "POST", json: body });

export function uploadDocuments(index, files) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  return request(`/v1/indexes/${encodeURIComponent(index)}/documents`, { method: "POST", body: form });
}

/**
 * Stream an answer: calls onDelta(text) for each streamed piece and resolves with the last
 * chunk's fields (answer, citations, verification, abstained, fallback, generator,
 * timings_ms) plus the completion id.
 */
export async function streamChat({ index, messages, perspectives, signal }, onDelta) {
  const response = await fetch("/v1/chat/completions", {
    method: "POST", signal,
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({ model: index, messages, stream: true, perspectives }),
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let final = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart()).join("\n");
      if (!data || data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(503, chunk.error.message, chunk.error.code);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) onDelta(delta);
      if (chunk.choices?.[0]?.finish_reason) final = { ...chunk, id: chunk.id };
    }
  }
  if (!final) throw new ApiError(502, "The answer stream ended early; please ask again.", null);
  return final;
}
