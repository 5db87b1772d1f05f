// 👍/👎 with an optional comment under each answer, stored by POST /v1/feedback in the
// feedback store Slack's verdicts go to (`rag feedback export`, surface "web").

import { sendFeedback } from "./api.js";
import { clientId } from "./store.js";

function body(turn, verdict, comment) {
  const a = turn.answer;
  return {
    answer_id: a.id, user: clientId(), verdict, comment: comment || null,
    answer: {
      question: turn.question, answer: a.answer, abstained: a.abstained,
      citations: a.citations, index: turn.index, generator: a.generator,
      faithfulness: a.faithfulness ?? null,
    },
  };
}

/** The feedback controls of one answer; onChange() persists the turn. */
export function feedbackControls(turn, onChange, onError) {
  const box = document.createElement("div");
  box.className = "feedback";
  const status = document.createElement("span");
  status.className = "status";
  status.setAttribute("role", "status");
  const form = document.createElement("form");
  form.className = "comment";
  form.hidden = !turn.feedback;
  const input = document.createElement("input");
  input.type = "text";
  input.placeholder = "Add a comment (optional)";
  input.setAttribute("aria-label", "Comment on this answer");
  input.value = turn.feedback?.comment || "";
  const send = document.createElement("button");
  send.type = "submit";
  send.textContent = "Send";
  form.append(input, send);

  const buttons = ["up", "down"].map((verdict) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `vote vote-${verdict}`;
    button.textContent = verdict === "up" ? "👍" : "👎";
    button.setAttribute("aria-label", verdict === "up" ? "Good answer" : "Bad answer");
    button.setAttribute("aria-pressed", String(turn.feedback?.verdict === verdict));
    return button;
  });

  async function submit(verdict, comment) {
    try {
      await sendFeedback(body(turn, verdict, comment));
      turn.feedback = { verdict, comment: comment || turn.feedback?.comment || "" };
      onChange();
      for (const b of buttons) {
        b.setAttribute("aria-pressed", String(b.classList.contains(`vote-${verdict}`)));
      }
      status.textContent = comment ? "Thanks, comment recorded." : "Thanks, recorded.";
      form.hidden = false;
    } catch (error) {
      status.textContent = "";
      onError(error);
    }
  }

  buttons.forEach((button, i) => button.addEventListener("click",
    () => submit(i === 0 ? "up" : "down")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (turn.feedback) submit(turn.feedback.verdict, input.value.trim());
  });
  box.append(...buttons, status, form);
  return box;
}
