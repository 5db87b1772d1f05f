// The chat view: the current conversation's turns, asking (streamed), follow-ups, the
// conversation list and "new chat".

import { AuthError, streamChat } from "./api.js";
import { answerMarkdown, renderAnswerBody, renderLabels } from "./answer.js";
import { feedbackControls } from "./feedback.js";
import { closeSource, wireCitations } from "./sources.js";
import * as store from "./store.js";

const $ = (id) => document.getElementById(id);
let conversation = null;
let inFlight = null;
let hooks = { index: () => "", perspectives: () => false, onAuth: () => {} };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

function actions(turn) {
  const row = el("div", "actions");
  const copy = el("button", "copy", "Copy as Markdown");
  copy.type = "button";
  copy.addEventListener("click", async () => {
    await copyText(answerMarkdown(turn.question, turn.answer));
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = "Copy as Markdown"; }, 1500);
  });
  row.append(copy, feedbackControls(turn, () => store.touch(conversation), showError));
  return row;
}

function fillReply(reply, turn) {
  reply.replaceChildren();
  reply.classList.remove("streaming");
  if (turn.error) {
    reply.append(el("p", "error", turn.error));
    return;
  }
  const a = turn.answer;
  reply.classList.toggle("abstained", a.abstained);
  reply.append(renderLabels(a), renderAnswerBody(a), actions(turn));
}

function renderTurn(turn) {
  const article = el("article", "turn");
  article.dataset.turn = turn.id;
  const question = el("div", "question");
  question.append(el("p", "", turn.question));
  const reply = el("div", "reply");
  article.append(question, reply);
  if (turn.answer || turn.error) fillReply(reply, turn);
  return article;
}

function renderConversation() {
  const messages = $("messages");
  const turns = conversation ? conversation.turns : [];
  messages.replaceChildren(...turns.map(renderTurn));
  if (!turns.length) messages.append(emptyNote());
  renderList();
}

function emptyNote() {
  const note = el("div", "empty");
  note.id = "empty-chat";
  note.append(el("p", "", "Ask a question about the documents of this index. Every sentence " +
    "of an answer cites its passage: hover a number to preview it, click it to open the source."));
  return note;
}

function renderList() {
  const list = $("conversations");
  list.replaceChildren(...store.all().filter((c) => c.turns.length).map((c) => {
    const item = el("li");
    const open = el("button", "conversation", c.title || "New chat");
    open.type = "button";
    open.dataset.id = c.id;
    if (conversation && c.id === conversation.id) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => openConversation(c.id));
    const drop = el("button", "icon-button remove", "✕");
    drop.type = "button";
    drop.setAttribute("aria-label", `Delete conversation: ${c.title}`);
    drop.addEventListener("click", () => {
      store.remove(c.id);
      if (conversation && conversation.id === c.id) newChat();
      else renderList();
    });
    item.append(open, drop);
    return item;
  }));
}

function showError(error) {
  if (error instanceof AuthError) hooks.onAuth(error);
  else alert(error.message);
}

export function openConversation(id) {
  store.select(id);
  conversation = store.current();
  closeSource();
  renderConversation();
  document.body.classList.remove("sidebar-open");
  $("question").focus();
}

export function newChat() {
  inFlight?.abort();
  conversation = null;
  store.select(null);
  closeSource();
  renderConversation();
  $("question").focus();
}

async function ask(question) {
  if (!conversation) conversation = store.create(hooks.index());
  const turn = { id: `t${Date.now().toString(36)}`, question, index: hooks.index(),
    perspectives: hooks.perspectives(), answer: null, error: null, feedback: null };
  const messages = store.messagesFor(conversation, question);
  conversation.index = turn.index;
  conversation.turns.push(turn);
  store.touch(conversation);
  $("empty-chat")?.remove();
  const article = renderTurn(turn);
  const reply = article.querySelector(".reply");
  reply.classList.add("streaming");
  const live = el("div", "answer-body");
  reply.append(el("span", "thinking", "Searching the sources…"), live);
  $("messages").append(article);
  article.scrollIntoView({ block: "end" });
  renderList();
  inFlight = new AbortController();
  let first = true;
  try {
    const final = await streamChat({ index: turn.index, messages, perspectives: turn.perspectives,
      signal: inFlight.signal }, (delta) => {
      if (first) {
        first = false;
        performance.mark("rag:first-token");
        reply.querySelector(".thinking")?.remove();
      }
      live.append(delta);
    });
    turn.answer = { id: final.id, answer: final.answer, citations: final.citations || [],
      verification: final.verification || [], abstained: final.abstained, fallback: final.fallback,
      generator: final.generator, faithfulness: final.faithfulness, revised: final.revised,
      quoted: final.quoted, timings_ms: final.timings_ms };
  } catch (error) {
    if (error.name === "AbortError") return;
    if (error instanceof AuthError) {
      conversation.turns.pop();
      store.touch(conversation);
      article.remove();
      $("question").value = question;
      hooks.onAuth(error);
      return;
    }
    turn.error = `Could not answer: ${error.message}`;
  } finally {
    inFlight = null;
    $("send").disabled = false;
  }
  store.touch(conversation);
  fillReply(reply, turn);
}

function lookup(turnId, marker) {
  const turn = conversation?.turns.find((t) => t.id === turnId);
  const citation = turn?.answer?.citations.find((c) => c.marker === marker);
  return citation ? { index: turn.index, citation } : null;
}

export function initChat(options) {
  hooks = options;
  conversation = store.current();
  renderConversation();
  wireCitations($("messages"), lookup);
  $("new-chat").addEventListener("click", newChat);
  const box = $("question");
  const submit = () => {
    const question = box.value.trim();
    if (!question || inFlight) return;
    performance.clearMarks();
    performance.mark("rag:send");
    box.value = "";
    $("send").disabled = true;
    ask(question);
  };
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
}

/** The index of the conversation on screen, if it has one. */
export const conversationIndex = () => conversation?.index || null;
