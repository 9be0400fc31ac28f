// Meeting pages: every write goes through the JSON API with the page's CSRF token; irreversible acts
// (remove, cancel, publish) are confirmed first; uploads show progress, size and a Stop button.
import { announce, confirmAction, t } from "./ui.js";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const root = document.getElementById("meeting");
const status = document.getElementById("page-status") || document.getElementById("form-status");
const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));

function show(message) {
  if (!status) return;
  status.hidden = false;
  status.textContent = message;
  status.scrollIntoView({ block: "center" });
}

function newKey() {
  return window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

async function send(method, url, body) {
  const headers = { "Content-Type": "application/json", "X-CSRFToken": csrf };
  if (method === "POST") headers["Idempotency-Key"] = newKey();
  const res = await fetch(url, { method, credentials: "same-origin", headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return {};
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error ? data.error.message : String(res.status));
  return data;
}

function formData(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.value === "" || el.type === "file" || el.type === "checkbox") continue;
    if (el.multiple) out[el.name] = Array.from(el.selectedOptions).map((o) => Number(o.value));
    else out[el.name] = el.type === "number" || el.name.endsWith("_id") ? Number(el.value) : el.value;
  }
  return out;
}

function onSubmit(id, handler) {
  const form = document.getElementById(id);
  if (form) form.addEventListener("submit", (e) => { e.preventDefault(); handler(form).catch((err) => show(err.message)); });
}

const hanoi = (local) => `${local}:00+07:00`;  // the page shows Hà Nội time (UTC+7); the API wants an offset

onSubmit("meeting-form", async (form) => {
  const body = formData(form);
  body.starts_at = hanoi(body.starts_at);
  const meeting = await send("POST", form.dataset.api, body);
  window.location.href = `/meetings/${meeting.id}`;
});

if (root) {
  const api = root.dataset.api;
  const reload = () => window.location.reload();

  onSubmit("edit-form", async (form) => {
    const body = formData(form);
    if (body.starts_at) body.starts_at = hanoi(body.starts_at);
    await send("PATCH", api, body); reload();
  });
  onSubmit("item-form", async (form) => { await send("POST", `${api}/agenda`, formData(form)); reload(); });
  onSubmit("participant-form", async (form) => {
    const body = formData(form);
    if (body.role !== "delegate") delete body.represents_user_id;
    if (body.role !== "guest") delete body.agenda_item_ids;
    await send("POST", `${api}/participants`, body); reload();
  });
  onSubmit("members-form", async (form) => {
    const ids = [...form.querySelectorAll("input[name=user_ids]:checked")].map((i) => Number(i.value));
    if (!ids.length) { show(t("none_selected")); return; }
    await send("POST", `${api}/participants/members`, { user_ids: ids }); reload();
  });
  const inviteAll = document.getElementById("invite-all");
  if (inviteAll) inviteAll.addEventListener("click", async () => {
    const ids = JSON.parse(inviteAll.dataset.ids || "[]");
    if (!ids.length) return;
    if (!(await confirmAction({ title: t("invite_all_title"), body: fill(t("invite_all_body"), { n: ids.length }), confirmLabel: t("invite_confirm") }))) return;
    send("POST", `${api}/participants/members`, { user_ids: ids }).then(reload, (e) => show(e.message));
  });
  document.querySelectorAll(".invite-group").forEach((btn) => btn.addEventListener("click", async () => {
    const groupId = Number(btn.closest("[data-group-id]").dataset.groupId);
    if (!(await confirmAction({ title: fill(t("invite_group_title"), { name: btn.dataset.name }),
      body: fill(t("invite_all_body"), { n: btn.dataset.pending }), confirmLabel: t("invite_confirm") }))) return;
    send("POST", `${api}/participants/group`, { group_id: groupId }).then(reload, (e) => show(e.message));
  }));
  document.querySelectorAll(".delete-group").forEach((btn) => btn.addEventListener("click", async () => {
    const groupId = btn.closest("[data-group-id]").dataset.groupId;
    if (!(await confirmAction({ title: fill(t("delete_group_title"), { name: btn.dataset.name }),
      body: t("delete_group_body"), confirmLabel: t("delete_confirm"), danger: true }))) return;
    send("DELETE", `/api/v1/participant-groups/${groupId}`).then(reload, (e) => show(e.message));
  }));
  onSubmit("group-form", async (form) => {
    const ids = JSON.parse(form.dataset.ids || "[]");
    await send("POST", "/api/v1/participant-groups", { name: form.elements.name.value, user_ids: ids }); reload();
  });
  const search = document.getElementById("people-search");
  if (search) search.addEventListener("input", () => {
    const words = search.value.trim().toLowerCase().normalize("NFD").replace(/\p{Diacritic}/gu, "").split(/\s+/);
    document.querySelectorAll(".people-list label.check").forEach((label) => {
      const text = label.dataset.search.normalize("NFD").replace(/\p{Diacritic}/gu, "");
      label.hidden = !words.every((w) => text.includes(w));
    });
  });

  onSubmit("postpone-form", async (form) => {
    const body = formData(form);
    await send("POST", `${api}/postpone`, { reason: body.reason || "", starts_at: hanoi(body.starts_at) }); reload();
  });
  onSubmit("cancel-form", async (form) => {
    if (!(await confirmAction({ title: t("cancel_title"), body: t("cancel_body"), confirmLabel: t("cancel_confirm"), cancelLabel: t("keep"), danger: true }))) return;
    await send("POST", `${api}/cancel`, { reason: form.elements.reason.value }); reload();
  });

  // the dialog says who is notified and what they receive, and lists the checklist's open warnings
  // (the server writes it in #publish-summary): the secretariat publishes knowingly
  const publish = document.getElementById("publish");
  const summary = document.getElementById("publish-summary");
  if (publish) publish.addEventListener("click", async () => {
    const body = summary ? summary.content.cloneNode(true) : undefined;
    if (!(await confirmAction({ title: t("publish_title"), body, confirmLabel: t("publish_confirm") }))) return;
    send("POST", `${api}/publish`).then(reload, (e) => show(e.message));
  });

  document.querySelectorAll(".approve").forEach((btn) => btn.addEventListener("click", () =>
    send("POST", `${api}/participants/${btn.dataset.participantId}/approve`).then(reload, (e) => show(e.message))));
  document.querySelectorAll(".remove-participant").forEach((btn) => btn.addEventListener("click", async () => {
    if (!(await confirmAction({ title: t("remove_person_title"), body: fill(t("remove_body"), { name: btn.dataset.name }), confirmLabel: t("remove_confirm"), danger: true }))) return;
    send("DELETE", `${api}/participants/${btn.dataset.participantId}`).then(reload, (e) => show(e.message));
  }));

  document.querySelectorAll(".new-version").forEach((input) => input.addEventListener("change", () => {
    const file = input.files[0];
    if (!file) return;
    const row = input.closest("li");
    const queue = document.createElement("ul");
    queue.className = "upload-queue";
    row.append(queue);
    upload(`/api/v1/documents/${input.dataset.documentId}/versions`, file, {}, queue).then(reload, () => {});
  }));

  document.querySelectorAll(".agenda-item").forEach((li) => {
    const itemId = li.dataset.itemId;
    li.querySelectorAll(".move").forEach((btn) => btn.addEventListener("click", () =>
      send("PATCH", `${api}/agenda/${itemId}`, { position: Math.max(1, Number(btn.dataset.to)) }).then(reload, (e) => show(e.message))));
    const remove = li.querySelector(".remove-item");
    if (remove) remove.addEventListener("click", async () => {
      if (!(await confirmAction({ title: t("remove_item_title"), body: fill(t("remove_body"), { name: remove.dataset.title }), confirmLabel: t("remove_confirm"), danger: true }))) return;
      send("DELETE", `${api}/agenda/${itemId}`).then(reload, (e) => show(e.message));
    });
    li.querySelectorAll(".stance-btn").forEach((btn) => btn.addEventListener("click", () =>
      send("PUT", `${api}/agenda/${itemId}/position`, { stance: btn.dataset.stance }).then(() => {
        li.querySelectorAll(".stance-btn").forEach((b) => {
          b.classList.toggle("btn-primary", b === btn);
          b.setAttribute("aria-pressed", String(b === btn));
        });
        announce(btn.textContent);
      }, (e) => show(e.message))));
    const form = li.querySelector(".upload-form");
    const titles = form && form.querySelector(".file-titles");
    if (form) form.elements.files.addEventListener("change", () => {
      titles.querySelectorAll("label").forEach((el) => el.remove());
      [...form.elements.files.files].forEach((file) => {
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.name = "title";
        input.maxLength = 500;
        input.required = true;
        input.value = fileTitle(file.name);
        label.append(fill(t("title_of"), { file: file.name }), input);
        titles.append(label);
      });
      titles.hidden = !form.elements.files.files.length;
    });
    if (form) form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const files = [...form.elements.files.files];
      const queue = form.querySelector(".upload-queue");
      const extra = { doc_type: form.elements.doc_type.value, confidentiality: form.elements.confidentiality.value };
      const titles = [...form.querySelectorAll(".file-titles input")].map((input) => input.value.trim());
      let failed = false;
      for (const [i, file] of files.entries()) {
        try { await upload(form.dataset.url, file, { ...extra, title: titles[i] || fileTitle(file.name) }, queue); }
        catch (err) { failed = true; }
      }
      if (!failed) reload();
    });
  });
}

/** "to-trinh-398_ttr.pdf" → "To trinh 398 ttr": a readable name when no title is given. */
function fileTitle(name) {
  const words = name.replace(/\.pdf$/i, "").replace(/[-_]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function size(bytes) {
  return bytes > 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** One file: a row with its name, size, a progress bar and Stop; resolves on 201, rejects otherwise. */
function upload(url, file, fields, queue) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.className = "upload-name";
  name.textContent = `${file.name} · ${size(file.size)}`;
  const bar = document.createElement("progress");
  bar.max = 100; bar.value = 0;
  bar.setAttribute("aria-label", `${t("uploading")} ${file.name}`);
  const state = document.createElement("span");
  state.className = "upload-state";
  const stop = document.createElement("button");
  stop.type = "button"; stop.className = "btn btn-small"; stop.textContent = t("stop");
  row.append(name, bar, state, stop);
  queue.append(row);
  const body = new FormData();
  body.append("file", file);
  Object.entries(fields).forEach(([k, v]) => { if (v) body.append(k, v); });
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Idempotency-Key", newKey());
    stop.addEventListener("click", () => xhr.abort());
    xhr.upload.addEventListener("progress", (ev) => { if (ev.lengthComputable) bar.value = (100 * ev.loaded) / ev.total; });
    xhr.addEventListener("abort", () => { state.textContent = t("stopped"); stop.remove(); reject(new Error("aborted")); });
    xhr.addEventListener("error", () => { state.textContent = "✗"; stop.remove(); reject(new Error("network")); });
    xhr.addEventListener("load", () => {
      stop.remove();
      if (xhr.status === 201) { bar.value = 100; state.textContent = `✓ ${t("uploaded")}`; resolve(); return; }
      let message = String(xhr.status);
      try { message = JSON.parse(xhr.responseText).error.message; } catch (err) { /* not JSON */ }
      state.textContent = `✗ ${message}`;
      row.classList.add("failed");
      announce(`${file.name}: ${message}`, { assertive: true });
      reject(new Error(message));
    });
    xhr.send(body);
  });
}
