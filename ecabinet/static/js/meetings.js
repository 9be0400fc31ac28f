// Meeting pages: every write goes through the JSON API with the page's CSRF token.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const root = document.getElementById("meeting");
  const status = document.getElementById("page-status") || document.getElementById("form-status");

  function show(message) {
    if (!status) return;
    status.hidden = false;
    status.textContent = message;
  }

  function newKey() {
    return window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  }

  async function send(method, url, body) {
    const headers = { "Content-Type": "application/json", "X-CSRFToken": csrf };
    if (method === "POST") headers["Idempotency-Key"] = newKey();
    const res = await fetch(url, {
      method, credentials: "same-origin", headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error ? data.error.message : String(res.status));
    return data;
  }

  function formData(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.value === "") continue;
      if (el.multiple) out[el.name] = Array.from(el.selectedOptions).map((o) => Number(o.value));
      else out[el.name] = el.type === "number" || el.name.endsWith("_id") ? Number(el.value) : el.value;
    }
    return out;
  }

  function onSubmit(id, handler) {
    const form = document.getElementById(id);
    if (form) form.addEventListener("submit", (e) => { e.preventDefault(); handler(form).catch((err) => show(err.message)); });
  }

  onSubmit("meeting-form", async (form) => {
    const body = formData(form);
    body.starts_at = `${body.starts_at}:00+07:00`;
    const meeting = await send("POST", form.dataset.api, body);
    window.location.href = `/meetings/${meeting.id}`;
  });

  if (!root) return;
  const api = root.dataset.api;
  const reload = () => window.location.reload();

  onSubmit("edit-form", async (form) => {
    const body = formData(form);
    // the page shows Hà Nội time (UTC+7); the API wants an offset
    if (body.starts_at) body.starts_at = `${body.starts_at}:00+07:00`;
    await send("PATCH", api, body); reload();
  });
  onSubmit("item-form", async (form) => { await send("POST", `${api}/agenda`, formData(form)); reload(); });
  onSubmit("participant-form", async (form) => {
    const body = formData(form);
    if (body.role !== "delegate") delete body.represents_user_id;
    if (body.role !== "guest") delete body.agenda_item_ids;
    await send("POST", `${api}/participants`, body); reload();
  });

  const publish = document.getElementById("publish");
  if (publish) publish.addEventListener("click", () => send("POST", `${api}/publish`).then(reload, (e) => show(e.message)));

  document.querySelectorAll(".approve").forEach((btn) => btn.addEventListener("click", () =>
    send("POST", `${api}/participants/${btn.dataset.participantId}/approve`).then(reload, (e) => show(e.message))));

  document.querySelectorAll(".agenda-item").forEach((li) => {
    const itemId = li.dataset.itemId;
    li.querySelectorAll(".move").forEach((btn) => btn.addEventListener("click", () =>
      send("PATCH", `${api}/agenda/${itemId}`, { position: Math.max(1, Number(btn.dataset.to)) }).then(reload, (e) => show(e.message))));
    li.querySelectorAll(".stance-btn").forEach((btn) => btn.addEventListener("click", () =>
      send("PUT", `${api}/agenda/${itemId}/position`, { stance: btn.dataset.stance }).then(() => {
        li.querySelectorAll(".stance-btn").forEach((b) => b.classList.toggle("btn-primary", b === btn));
      }, (e) => show(e.message))));
    const upload = li.querySelector(".upload-form");
    if (upload) upload.addEventListener("submit", (e) => {
      e.preventDefault();
      const progress = upload.querySelector("progress");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.dataset.url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Idempotency-Key", newKey());
      progress.hidden = false;
      xhr.upload.addEventListener("progress", (ev) => { if (ev.lengthComputable) progress.value = (100 * ev.loaded) / ev.total; });
      xhr.addEventListener("load", () => {
        if (xhr.status === 201) { reload(); return; }
        let message = String(xhr.status);
        try { message = JSON.parse(xhr.responseText).error.message; } catch (err) { /* not JSON */ }
        progress.hidden = true;
        show(message);
      });
      xhr.send(new FormData(upload));
    });
  });
})();
