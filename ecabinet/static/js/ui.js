// Shared pieces for every screen, as a native ES module (no build step): the confirmation dialog
// for irreversible acts, announcements to screen readers, dates in Hanoi time, translated strings.
// Pages import what they need: `import { confirmAction, announce } from "/static/js/ui.js";`

const TIME_ZONE = "Asia/Ho_Chi_Minh";

// Strings a script shows, translated on the server: every <script type="application/json" data-i18n>
// on the page (base.html carries the common ones, a page adds its own) merged into one table.
let strings = null;
export function t(key) {
  if (!strings) {
    strings = {};
    document.querySelectorAll('script[type="application/json"][data-i18n]').forEach((node) => {
      Object.assign(strings, JSON.parse(node.textContent || "{}"));
    });
  }
  return Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
}

function parts(value) {
  const date = value instanceof Date ? value : new Date(value);
  const out = {};
  new Intl.DateTimeFormat("en-GB", {
    timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(date).forEach((part) => { out[part.type] = part.value; });
  return out;
}

/** dd/mm/yyyy HH:mm in Hanoi time, whatever the device's own time zone. */
export function formatDateTime(value) {
  if (!value) return "";
  const p = parts(value);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}
export function formatDate(value) {
  if (!value) return "";
  const p = parts(value);
  return `${p.day}/${p.month}/${p.year}`;
}
export function formatTime(value) {
  if (!value) return "";
  const p = parts(value);
  return `${p.hour}:${p.minute}`;
}

/** Tell screen-reader users about a change they did not cause (a new vote, the floor given). */
export function announce(text, { assertive = false } = {}) {
  const region = document.getElementById(assertive ? "announce-assertive" : "announce-polite");
  if (!region) return;
  region.textContent = "";
  // a fresh text node after a tick makes screen readers speak a repeated message again
  setTimeout(() => { region.textContent = text; }, 50);
}

/**
 * Ask before an irreversible act (W3C APG modal dialog, GOV.UK "confirm a destructive action"):
 * a native <dialog> that states the consequence; focus goes to Cancel and returns to the opener.
 * `body` is a string or a Node (e.g. the list of items a consent block will adopt).
 * Resolves true only when the user confirms.
 */
export function confirmAction({ title, body, confirmLabel, cancelLabel, danger = false }) {
  const { dialog, heading, actions, cancel } = modalShell(title, cancelLabel);
  const content = el("div", { class: "dialog-body" });
  if (body instanceof Node) content.append(body);
  else if (body) content.append(el("p", {}, body));
  const confirm = el("button", { type: "button", class: danger ? "btn btn-danger" : "btn btn-primary" },
    confirmLabel || t("Confirm"));
  actions.append(confirm);
  dialog.append(heading, content, actions);
  return new Promise((resolve) => {
    let answer = false;
    confirm.addEventListener("click", () => { answer = true; dialog.close(); });
    openModal(dialog, cancel, cancel, () => resolve(answer));
  });
}

/**
 * Ask for the signing PIN in a modal dialog (the same pattern as confirmAction): focus goes to the
 * PIN field, Cancel or Escape gives null. `body` says what will be signed; `hint` e.g. the attempts left.
 */
export function askPin({ title, body, label, hint, confirmLabel, cancelLabel }) {
  const { dialog, heading, actions, cancel } = modalShell(title, cancelLabel);
  const form = el("form", { method: "dialog" });
  form.append(heading);
  if (body) form.append(el("p", {}, body));
  const field = el("label", { class: "pin-field" }, label || t("Signing PIN"));
  if (hint) field.append(el("small", { class: "hint" }, hint));
  const input = el("input", { type: "password", inputmode: "numeric", autocomplete: "off", required: true,
    maxlength: 64 });
  field.append(input);
  actions.append(el("button", { type: "submit", class: "btn btn-primary" }, confirmLabel || t("Sign")));
  form.append(field, actions);
  dialog.append(form);
  return new Promise((resolve) => {
    let pin = null;
    form.addEventListener("submit", (event) => {
      if (!input.value) { event.preventDefault(); input.focus(); return; }
      pin = input.value;
    });
    openModal(dialog, cancel, input, () => { input.value = ""; resolve(pin); });
  });
}

// The shell both dialogs share: a titled native <dialog> and its row of actions, Cancel first.
function modalShell(title, cancelLabel) {
  const dialog = el("dialog", { class: "dialog" });
  const heading = el("h2", { id: `dialog-title-${Date.now()}` }, title);
  dialog.setAttribute("aria-labelledby", heading.id);
  const actions = el("div", { class: "dialog-actions" });
  const cancel = el("button", { type: "button", class: "btn" }, cancelLabel || t("Cancel"));
  actions.append(cancel);
  return { dialog, heading, actions, cancel };
}

// Show it modally with focus on `focusTarget`; Cancel or Escape closes it; on close it is removed, focus
// goes back to where it was, then `onClose` answers.
function openModal(dialog, cancel, focusTarget, onClose) {
  const opener = document.activeElement;
  document.body.append(dialog);
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && typeof opener.focus === "function") opener.focus();
    onClose();
  });
  dialog.showModal();
  focusTarget.focus();
}

/**
 * Update a list in place from data (keyed DOM update): each item keeps its node (found by
 * `data-key`), so keyboard focus and scroll survive a live event. `create(item)` makes a node,
 * `update(node, item, index)` refreshes it. Nodes whose key is gone are removed; order follows `items`.
 */
export function syncList(container, items, keyOf, create, update) {
  const existing = new Map();
  Array.from(container.children).forEach((node) => { existing.set(node.dataset.key, node); });
  const wanted = new Set();
  items.forEach((item, index) => {
    const key = String(keyOf(item));
    wanted.add(key);
    let node = existing.get(key);
    if (!node) { node = create(item); node.dataset.key = key; }
    update(node, item, index);
    const atIndex = container.children[index];
    if (atIndex !== node) container.insertBefore(node, atIndex || null);
  });
  existing.forEach((node, key) => { if (!wanted.has(key)) node.remove(); });
}

/** A small element builder: el("button", { class: "btn", type: "button" }, "text"). */
export function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([key, value]) => {
    if (value === null || value === undefined || value === false) return;
    node.setAttribute(key, value === true ? "" : value);
  });
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/**
 * The JSON API from a page: session cookie and CSRF header. Resolves with the body; rejects with
 * the API's error object ({code, message}), or {code: "offline"} when the request never arrived.
 */
export async function apiCall(method, path, body, { headers = {} } = {}) {
  const csrf = document.querySelector('meta[name="csrf-token"]');
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...(csrf ? { "X-CSRFToken": csrf.content } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw { code: "offline", message: t("This device is offline.") };
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw (data.error || { code: String(response.status), message: response.statusText });
  const date = response.headers.get("Date");
  if (date) serverOffset = Date.parse(date) - Date.now();
  return data;
}

let serverOffset = 0;
/** The server's clock as last seen in a response (a tablet's own clock may be minutes off). */
export function serverNow() { return Date.now() + serverOffset; }

/** 125 -> "2:05"; negative values are shown as overtime by the caller. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/**
 * Run `callback` when the device is back online, once the server really answers: the browser's
 * "online" event alone is not proof (a flapping network, or Chromium firing online/offline pairs while
 * offline), and a page that reloads on it would throw away the navigation the member just tapped.
 */
export function onBackOnline(callback) {
  let probing = false;
  window.addEventListener("online", async () => {
    if (probing) return;
    probing = true;
    try {
      for (let wait = 500; wait <= 8000 && navigator.onLine; wait *= 2) {
        await new Promise((resolve) => { setTimeout(resolve, wait); });
        // the briefcase page: public, tiny, and asked with HEAD so the service worker leaves it to the network
        const answered = await fetch("/briefcase", { method: "HEAD", cache: "no-store", credentials: "omit" })
          .then((response) => response.ok, () => false);
        if (answered && navigator.onLine) { callback(); return; }
      }
    } finally { probing = false; }
  });
}
