// Conversations kept in the browser (localStorage): each turn keeps the question and the
// whole answer (citations and verification included), so a reload shows them as they were.

const CONVERSATIONS = "rag.conversations.v1";
const CURRENT = "rag.current";
const CLIENT = "rag.client";
const MAX_CONVERSATIONS = 50;

function load() {
  try {
    return JSON.parse(localStorage.getItem(CONVERSATIONS)) || [];
  } catch {
    return [];
  }
}

let conversations = load();

function save() {
  conversations.sort((a, b) => b.updated - a.updated);
  conversations = conversations.slice(0, MAX_CONVERSATIONS);
  localStorage.setItem(CONVERSATIONS, JSON.stringify(conversations));
}

function newId() {
  return crypto.randomUUID ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** An anonymous id for this browser: the "user" of its feedback. */
export function clientId() {
  let id = localStorage.getItem(CLIENT);
  if (!id) {
    id = `web-${newId()}`;
    localStorage.setItem(CLIENT, id);
  }
  return id;
}

export const all = () => conversations;

export function current() {
  const id = localStorage.getItem(CURRENT);
  return conversations.find((c) => c.id === id) || null;
}

export function select(id) {
  localStorage.setItem(CURRENT, id || "");
}

export function create(index) {
  const conversation = { id: newId(), title: "", index, updated: Date.now(), turns: [] };
  conversations.push(conversation);
  select(conversation.id);
  save();
  return conversation;
}

export function remove(id) {
  conversations = conversations.filter((c) => c.id !== id);
  if (localStorage.getItem(CURRENT) === id) select(null);
  save();
}

/** Call after changing a conversation or one of its turns in place. */
export function touch(conversation) {
  conversation.updated = Date.now();
  if (!conversation.title && conversation.turns.length) {
    conversation.title = conversation.turns[0].question.slice(0, 80);
  }
  save();
}

/** The conversation as OpenAI messages, for a follow-up. */
export function messagesFor(conversation, question) {
  const messages = [];
  for (const turn of conversation.turns) {
    if (!turn.answer) continue;
    messages.push({ role: "user", content: turn.question });
    messages.push({ role: "assistant", content: turn.answer.answer });
  }
  messages.push({ role: "user", content: question });
  return messages;
}
