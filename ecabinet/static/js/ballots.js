// Ballot pages: answer → check answers → sign with the PIN (signed on the server); the secretariat's
// editor and board (live counts, reminder, close with confirmation).
import { followUserStream } from "./socket.js";
import { announce, confirmAction, el, formatDateTime, t } from "./ui.js";

const call = window.ecabinetApi.call;
const card = document.getElementById("ballot");
const ballotId = card && Number(card.dataset.ballotId);
const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));

function newKey() {
  return (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

const form = document.getElementById("answer-form");
if (form) {
  // one key per form view: a retry after a lost answer returns the same receipt, never a second slip
  let key = newKey();
  const stepAnswer = document.getElementById("step-answer");
  const stepReview = document.getElementById("step-review");
  const summary = document.getElementById("error-summary");
  const status = document.getElementById("answer-status");
  const questions = [...form.querySelectorAll("fieldset[data-question-id]")];

  const answers = () => questions.map((fs) => ({
    question_id: Number(fs.dataset.questionId),
    choice: (fs.querySelector("input[type=radio]:checked") || {}).value,
    comment: fs.querySelector("textarea").value.trim(),
  }));

  function showErrors(errors) {
    const list = summary.querySelector("ul");
    list.replaceChildren();
    questions.forEach((fs) => {
      fs.classList.remove("has-error");
      fs.querySelector(".field-error").hidden = true;
    });
    form.querySelectorAll(".pin-field").forEach((el) => {
      el.classList.remove("has-error");
      el.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; });
    });
    if (!errors.length) { summary.hidden = true; return; }
    errors.forEach(({ target, text, field }) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `#${target}`;
      a.textContent = text;
      a.addEventListener("click", (e) => { e.preventDefault(); const el = document.getElementById(target); el.focus(); el.scrollIntoView({ block: "center" }); });
      li.append(a);
      list.append(li);
      if (field) { field.classList.add("has-error"); const p = field.querySelector(".field-error"); if (p) { p.textContent = text; p.hidden = false; } }
    });
    summary.hidden = false;
    summary.focus();
  }

  function validate() {
    const errors = [];
    answers().forEach((a, i) => {
      const fs = questions[i];
      if (!a.choice) errors.push({ target: fs.querySelector("input[type=radio]").id || (fs.querySelector("input[type=radio]").id = `q${a.question_id}-agree`), text: fill(t("answer_missing"), { n: i + 1 }), field: fs });
      else if (a.choice === "other" && !a.comment) errors.push({ target: fs.querySelector("textarea").id || (fs.querySelector("textarea").id = `c${a.question_id}`), text: fill(t("comment_missing"), { n: i + 1 }), field: fs });
    });
    return errors;
  }

  function review() {
    const list = document.getElementById("review-list");
    list.replaceChildren();
    answers().forEach((a, i) => {
      const row = document.createElement("div");
      const dt = document.createElement("dt");
      dt.textContent = questions[i].querySelector("legend").textContent;
      const dd = document.createElement("dd");
      const strong = document.createElement("strong");
      strong.textContent = t(a.choice);
      dd.append(strong);
      if (a.comment) { const span = document.createElement("span"); span.className = "comment"; span.textContent = a.comment; dd.append(span); }
      const change = document.createElement("button");
      change.type = "button";
      change.className = "link-button";
      change.textContent = t("change");
      change.setAttribute("aria-label", `${t("change")}: ${dt.textContent}`);
      change.addEventListener("click", () => { showStep("answer"); questions[i].querySelector("input[type=radio]").focus(); });
      dd.append(change);
      row.append(dt, dd);
      list.append(row);
    });
  }

  function showStep(which) {
    stepAnswer.hidden = which !== "answer";
    stepReview.hidden = which !== "review";
    if (which === "review") document.getElementById("review-title").focus();
  }

  document.getElementById("to-review").addEventListener("click", () => {
    const errors = validate();
    showErrors(errors);
    if (errors.length) return;
    review();
    showStep("review");
  });
  document.getElementById("back").addEventListener("click", () => showStep("answer"));
  const revise = document.getElementById("revise");
  if (revise) revise.addEventListener("click", () => { form.hidden = false; showStep("answer"); questions[0].querySelector("input").focus(); });
  const cancelRevise = document.getElementById("cancel-revise");
  if (cancelRevise) cancelRevise.addEventListener("click", () => { form.hidden = true; revise.focus(); });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pinInput = form.elements.pin;
    if (!pinInput) return;
    const pin = pinInput.value;
    if (!pin) {
      showErrors([{ target: "pin", text: t("pin_missing"), field: form.querySelector(".pin-field") }]);
      return;
    }
    showErrors([]);
    pinInput.value = "";
    const button = document.getElementById("sign");
    button.disabled = true;
    status.textContent = t("signing");
    try {
      await call("POST", `/ballots/${ballotId}/responses`, { answers: answers(), pin }, key);
      window.location.reload();
    } catch (e) {
      button.disabled = false;
      status.textContent = "";
      if (e.code === "wrong_pin") {
        const hint = document.getElementById("pin-hint");
        const left = Math.max(0, Number(form.dataset.attemptsLeft || 1) - 1);
        form.dataset.attemptsLeft = String(left);
        if (hint) hint.textContent = fill(t("attempts_left"), { n: left });
      } else {
        key = newKey();
      }
      showErrors([{ target: "pin", text: e.message, field: form.querySelector(".pin-field") }]);
    }
  });
}

const boardStatus = document.getElementById("board-status");
const say = (text) => { if (boardStatus) boardStatus.textContent = text; announce(text); };
const pending = () => Number((document.getElementById("count-pending") || {}).textContent || 0);
// closing is for good (GOV.UK "confirm a destructive action"): who has not answered yet, out of how many, as the
// board shows them now (live answers included), and that it cannot be undone
function closeBody() {
  const rows = [...document.querySelectorAll("#board li[data-user-id]")];
  const waiting = rows.filter((li) => !("answered" in li.querySelector(".status").dataset));
  const body = el("div");
  if (t("close_early")) body.append(el("p", {}, t("close_early")));
  if (waiting.length) {
    body.append(el("p", { id: "close-pending" }, fill(t("close_pending"), { pending: waiting.length, total: rows.length })));
    const names = el("ul", { class: "dialog-names" });
    waiting.forEach((li) => names.append(el("li", {}, li.querySelector("strong").textContent)));
    body.append(names);
  } else {
    body.append(el("p", { id: "close-pending" }, fill(t("close_all_answered"), { total: rows.length })));
  }
  body.append(el("p", { class: "dialog-warning" }, t("close_final")));
  return body;
}
const CONFIRM = {
  close: () => ({ title: t("close_title"), body: closeBody(), confirmLabel: t("close_confirm"), danger: true }),
  issue: () => ({ title: t("issue_title"), body: t("issue_body"), confirmLabel: t("issue_confirm") }),
};
document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", async () => {
  const action = b.dataset.action;
  if (CONFIRM[action] && !(await confirmAction(CONFIRM[action]()))) return;
  b.disabled = true;
  try {
    const r = await call("POST", `/ballots/${ballotId}/${action}`, undefined, newKey());
    if (action === "remind") { say(fill(t("remind_done"), { n: r.reminded.length })); b.disabled = false; return; }
    if (r && r.notice) say(r.notice.message);
    window.location.reload();
  } catch (e) { b.disabled = false; say(e.message); }
}));

const board = document.getElementById("board");
const state = document.getElementById("board-state");
if (board && state && window.io) {
  function markAnswered(ev) {
    const cell = board.querySelector(`[data-user-id="${ev.user_id}"] .status`);
    if (!cell) return;
    if (!("answered" in cell.dataset)) {
      const answered = document.getElementById("count-answered");
      answered.textContent = String(Number(answered.textContent) + 1);
      document.getElementById("count-pending").textContent = String(Math.max(0, pending() - 1));
      document.getElementById("board-progress").value = Number(answered.textContent);
    }
    cell.textContent = fill(t("answered_at"), { when: formatDateTime(ev.answered_at) });
    cell.dataset.answered = "";
    cell.classList.remove("warn");
    cell.classList.add("ok");
  }
  // the secretariat's own stream carries every ballot's answers; answers given before the first join
  // (or while away before it) show after a reload
  followUserStream({
    async onJoined({ first }) {
      if (first) {
        const ballot = await call("GET", `/ballots/${ballotId}`);
        const answered = (ballot.recipients || []).filter((r) => r.status === "answered").length;
        if (answered !== board.querySelectorAll(".status[data-answered]").length) window.location.reload();
      }
      state.textContent = state.dataset.labelLive;
      state.classList.add("ok");
    },
    onLeft() { state.textContent = state.dataset.labelOffline; state.classList.remove("ok"); },
    onEvent(event) {
      const ev = event.data;
      if (ev.ballot_id !== ballotId) return;
      if (event.type === "ballot.closed") { window.location.reload(); return; }
      if (event.type === "ballot.answered") markAnswered(ev);
    },
  });
}

const editor = document.getElementById("ballot-editor");
if (editor) {
  editor.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = editor.elements;
    const out = document.getElementById("editor-status");
    const deadline = f.deadline.value;
    try {
      const b = await call("POST", "/ballots", {
        title: f.title.value, summary: f.summary.value,
        questions: f.questions.value.split("\n").map((s) => s.trim()).filter(Boolean),
        deadline: deadline ? `${deadline}:00+07:00` : "",
        recipient_ids: [...editor.querySelectorAll("input[name=recipient]:checked")].map((i) => Number(i.value)),
        document_ids: [...editor.querySelectorAll("input[name=document]:checked")].map((i) => Number(i.value)),
      }, newKey());
      window.location.href = `/ballots/${b.id}`;
    } catch (e) { out.textContent = e.message; out.classList.add("alert"); }
  });
  const all = document.getElementById("select-all-recipients");
  if (all) all.addEventListener("change", () => editor.querySelectorAll("input[name=recipient]").forEach((i) => { i.checked = all.checked; }));
}
