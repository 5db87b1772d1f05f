// Entry point of the web page: the API key prompt, the index picker, the theme, and
// switching between the chat and documents views (#/ and #/documents).

import { AuthError, apiKey, listIndexes, setApiKey } from "./api.js";
import { conversationIndex, initChat } from "./chat.js";
import { initDocuments, refreshDocuments } from "./documents.js";

const $ = (id) => document.getElementById(id);
const THEME = "rag.theme";
const THEMES = ["auto", "light", "dark"];
let waitingForKey = null;

function applyTheme(theme) {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  const button = $("theme-toggle");
  button.title = `Theme: ${theme === "auto" ? "automatic" : theme}`;
  button.setAttribute("aria-label", button.title);
  button.textContent = { auto: "◐", light: "☀", dark: "☾" }[theme];
}

function initTheme() {
  let theme = localStorage.getItem(THEME) || "auto";
  applyTheme(theme);
  $("theme-toggle").addEventListener("click", () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    localStorage.setItem(THEME, theme);
    applyTheme(theme);
  });
}

/** Ask for an API key; resolves once one has been entered. */
function askForKey(error) {
  const dialog = $("key-dialog");
  $("key-message").textContent = error?.hadKey
    ? "The server did not accept that API key (401). Check it and try again."
    : "This server needs an API key. Ask its operator for one (RAG_API_KEYS).";
  $("key-message").classList.toggle("error", Boolean(error?.hadKey));
  if (error?.hadKey) setApiKey("");
  if (!dialog.open) dialog.showModal();
  $("key-input").focus();
  waitingForKey ||= new Promise((resolve) => {
    $("key-form").addEventListener("submit", () => {
      setApiKey($("key-input").value.trim());
      $("key-input").value = "";
      waitingForKey = null;
      resolve();
    }, { once: true });
  });
  return waitingForKey;
}

async function withKey(call) {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      await askForKey(error);
    }
  }
}

async function loadIndexes() {
  const picker = $("index-picker");
  const names = await withKey(listIndexes);
  picker.replaceChildren(...names.map((name) => new Option(name, name)));
  const wanted = conversationIndex() || localStorage.getItem("rag.index");
  if (names.includes(wanted)) picker.value = wanted;
  picker.addEventListener("change", () => {
    localStorage.setItem("rag.index", picker.value);
    if (location.hash === "#/documents") refreshDocuments();
  });
}

function showView() {
  const documents = location.hash === "#/documents";
  $("chat-view").hidden = documents;
  $("documents-view").hidden = !documents;
  $("nav-chat").toggleAttribute("aria-current", !documents);
  $("nav-documents").toggleAttribute("aria-current", documents);
  if (documents) refreshDocuments();
}

async function main() {
  initTheme();
  const hooks = { index: () => $("index-picker").value, perspectives: () => $("perspectives").checked,
    onAuth: (error) => askForKey(error) };
  $("menu-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("sidebar-open");
    $("menu-toggle").setAttribute("aria-expanded", String(open));
  });
  $("key-dialog").addEventListener("cancel", (e) => e.preventDefault());
  try {
    await loadIndexes();
  } catch (error) {
    $("messages").prepend(Object.assign(document.createElement("p"), {
      className: "error", textContent: `The service did not answer: ${error.message}` }));
  }
  initChat(hooks);
  initDocuments(hooks);
  window.addEventListener("hashchange", showView);
  showView();
  document.body.dataset.ready = apiKey() ? "with-key" : "true";
}

main();
