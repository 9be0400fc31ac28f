// Conclusion notice editor (secretariat), task list (owner) and tracker (secretariat); writes go through the API.
(function () {
  "use strict";
  const call = window.ecabinetApi.call;
  const statusBox = document.getElementById("notice-status");
  function say(text) { if (statusBox) { statusBox.hidden = false; statusBox.textContent = text; } }
  function newKey() { return (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random(); }
  async function act(promise) {
    try { await promise; location.reload(); } catch (e) { say(e.message); }
  }

  const notice = document.getElementById("notice");
  if (notice) {
    const meetingId = Number(notice.dataset.meetingId);
    const noticeId = Number(notice.dataset.noticeId);
    // one key per page view: a retried click returns the same draft instead of a conflict
    const createKey = newKey();
    const create = document.getElementById("create-notice");
    if (create) create.addEventListener("click", () => act(call("POST", `/meetings/${meetingId}/notices`, {}, createKey)));
    const intro = document.getElementById("intro-form");
    if (intro) intro.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(call("PATCH", `/notices/${noticeId}`, { intro: intro.elements.intro.value }));
    });
    const taskForm = document.getElementById("task-form");
    const taskKey = newKey();
    if (taskForm) taskForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = taskForm.elements;
      act(call("POST", `/notices/${noticeId}/tasks`, {
        description: f.description.value, owner_user_id: Number(f.owner_user_id.value), deadline: f.deadline.value,
        agenda_item_id: f.agenda_item_id.value ? Number(f.agenda_item_id.value) : null,
      }, taskKey));
    });
    const issue = document.getElementById("issue-notice");
    if (issue) issue.addEventListener("click", () => { issue.disabled = true; say("…"); act(call("POST", `/notices/${noticeId}/issue`)); });
  }

  const tasks = document.getElementById("tasks");
  if (tasks) {
    tasks.querySelectorAll("li[data-task-id]").forEach((li) => {
      const id = Number(li.dataset.taskId);
      const form = li.querySelector(".progress-form");
      if (form) form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        act(call("POST", `/tasks/${id}/progress`, { note: form.elements.note.value }));
      });
      li.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click",
        () => act(call("POST", `/tasks/${id}/${b.dataset.action}`, {}))));
    });
    if (window.io) {
      // this user's own stream carries task.updated for their tasks (every task to the secretariat)
      const socket = window.io();
      let lastSeq = null;
      socket.on("connect", () => socket.emit("join", { stream: "user", last_seq: lastSeq }, (ack) => {
        if (ack && ack.ok && lastSeq === null) lastSeq = ack.seq;
      }));
      socket.on("event", (event) => {
        if (event.stream !== "user" || event.seq <= lastSeq) return;
        lastSeq = event.seq;
        if (event.type === "task.updated") {
          const li = document.getElementById(`task-${event.data.id}`);
          if (li && li.dataset.status !== event.data.status) location.reload();
        } else if (event.type === "notice.issued") location.reload();
      });
    }
  }
})();
