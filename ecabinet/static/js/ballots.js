// Ballot pages: answer + PIN (signed on the server), secretariat editor and live board.
(function () {
  "use strict";
  const call = window.ecabinetApi.call;
  const card = document.getElementById("ballot");
  const ballotId = card && Number(card.dataset.ballotId);
  const form = document.getElementById("answer-form");
  if (form) {
    // one key per form view: a retry after a lost answer returns the same receipt, never a second slip
    const key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const status = document.getElementById("answer-status");
      const answers = [...form.querySelectorAll("fieldset[data-question-id]")].map((fs) => ({
        question_id: Number(fs.dataset.questionId),
        choice: (fs.querySelector("input[type=radio]:checked") || {}).value,
        comment: fs.querySelector("textarea").value,
      }));
      const pin = form.elements.pin.value;
      form.elements.pin.value = "";
      status.textContent = "…";
      try {
        const r = await call("POST", `/ballots/${ballotId}/responses`, { answers, pin }, key);
        status.textContent = `✓ v${r.version} · ${r.signed_at} · ${r.sha256}`;
        setTimeout(() => location.reload(), 1500);
      } catch (e) { status.textContent = e.message; }
    });
  }
  document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", async () => {
    try {
      const r = await call("POST", `/ballots/${ballotId}/${b.dataset.action}`);
      if (r && r.notice) alert(r.notice.message);  // e.g. the report was signed without a timestamp
      location.reload();
    } catch (e) { alert(e.message); }
  }));
  const board = document.getElementById("board");
  if (board && window.io) {
    const socket = window.io();
    const state = document.getElementById("board-state");
    let lastSeq = null;
    // the secretariat's own stream carries every ballot's answers; answers given before the first join
    // (or while away before it) show after a reload
    socket.on("connect", () => socket.emit("join", { stream: "user", last_seq: lastSeq }, async (ack) => {
      if (!ack || !ack.ok) return;
      if (lastSeq === null) {
        lastSeq = ack.seq;
        const ballot = await call("GET", `/ballots/${ballotId}`);
        const answered = (ballot.recipients || []).filter((r) => r.status === "answered").length;
        if (answered !== board.querySelectorAll(".status[data-answered]").length) location.reload();
      }
      state.textContent = state.dataset.labelLive;
      state.classList.add("ok");
    }));
    socket.on("disconnect", () => {
      state.textContent = state.dataset.labelOffline;
      state.classList.remove("ok");
    });
    socket.on("event", (event) => {
      if (event.stream !== "user" || event.seq <= lastSeq) return;
      lastSeq = event.seq;
      const ev = event.data;
      if (ev.ballot_id !== ballotId) return;
      if (event.type === "ballot.closed") { location.reload(); return; }
      if (event.type !== "ballot.answered") return;
      const li = board.querySelector(`[data-user-id="${ev.user_id}"] .status`);
      if (!li) return;
      li.textContent = "✓ " + new Date(ev.answered_at).toLocaleString("vi-VN");
      li.dataset.answered = "";
    });
  }
  const editor = document.getElementById("ballot-editor");
  if (editor) {
    editor.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = editor.elements;
      try {
        const b = await call("POST", "/ballots", {
          title: f.title.value, summary: f.summary.value,
          questions: f.questions.value.split("\n").map((s) => s.trim()).filter(Boolean),
          deadline: new Date(f.deadline.value).toISOString(),
          recipient_ids: [...editor.querySelectorAll("input[name=recipient]:checked")].map((i) => Number(i.value)),
        });
        location.href = `/ballots/${b.id}`;
      } catch (e) { document.getElementById("editor-status").textContent = e.message; }
    });
  }
})();
