// The dossier viewer for tablets and phones, after pdf.js's own web viewer: fit width / fit page,
// swipe and tap paging, thumbnails, find in the document, a notes panel that folds away and
// guards unsaved text, the last page read remembered per document, and follow-the-presenter.
import * as pdfjsLib from "/static/vendor/pdf.min.mjs";
import { setupAnnotations } from "./annotations.js";
import { announce, apiCall, el, t } from "./ui.js";
import { readerNotes, readerPdf, saveReaderNote } from "./reader_source.js";
import { pageSocket } from "./socket.js";

const root = document.getElementById("viewer");
const documentId = Number(root.dataset.documentId);
const meetingId = Number(root.dataset.meetingId);
const userId = Number(root.dataset.userId);
// a dossier has the reader's private notes and marks; a page without a notes URL (the signed minutes) has none
const hasNotes = Boolean(root.dataset.notesUrl);
pdfjsLib.GlobalWorkerOptions.workerSrc = root.dataset.workerUrl;
const changed = new Set((root.dataset.changedPages || "").split(",").filter(Boolean).map(Number));
const $ = (id) => document.getElementById(id);
const canvas = $("page-canvas");
const stage = $("stage");
const noteText = $("note-text");
const noteStatus = $("note-status");
const LAST_PAGE = `ecabinet:last-page:${documentId}:${userId}`;
const FIT = `ecabinet:fit:${userId}`;

let pdf = null;
let page = 1;
let fit = localStorage.getItem(FIT) || "width";
let zoom = 1;
let notes = {};
let rendering = null;
let dirty = false;
const annotations = hasNotes ? setupAnnotations({ documentId, canvas }) : null;

// --- drawing -------------------------------------------------------------------------------------

async function render() {
  if (!pdf) return;
  const p = await pdf.getPage(page);
  const base = p.getViewport({ scale: 1 });
  const width = Math.max(stage.clientWidth - 16, 100);
  const height = Math.max(stage.clientHeight - 16, 100);
  let fitScale = fit === "page" ? Math.min(width / base.width, height / base.height) : width / base.width;
  const ratio = window.devicePixelRatio || 1;
  const viewport = p.getViewport({ scale: fitScale * zoom * ratio });
  if (rendering) rendering.cancel();
  const buffer = document.createElement("canvas");
  buffer.width = viewport.width;
  buffer.height = viewport.height;
  rendering = p.render({ canvasContext: buffer.getContext("2d"), viewport });
  try { await rendering.promise; } catch (error) { return; }
  canvas.width = buffer.width;
  canvas.height = buffer.height;
  canvas.getContext("2d").drawImage(buffer, 0, 0);
  await highlight(p, viewport);
  canvas.style.width = `${viewport.width / ratio}px`;
  canvas.style.height = `${viewport.height / ratio}px`;
  canvas.dataset.renderedPage = String(page);
  canvas.setAttribute("aria-label", `${t("Page")} ${page} / ${pdf.numPages}`);
  $("page-input").value = String(page);
  $("page-label").textContent = `/ ${pdf.numPages}`;
  $("zoom-label").textContent = `${Math.round(fitScale * zoom * 100)}%`;
  $("fit-width").setAttribute("aria-pressed", String(fit === "width" && zoom === 1));
  $("fit-page").setAttribute("aria-pressed", String(fit === "page" && zoom === 1));
  $("prev").disabled = page <= 1;
  $("next").disabled = page >= pdf.numPages;
  $("changed-hint").hidden = !changed.has(page);
  markThumb();
  annotations?.show(page);
}

/** The unsaved-note question: "save", "discard" (and move on) or null (stay), as confirmAction's dialog. */
function askUnsaved() {
  const opener = document.activeElement;
  const dialog = el("dialog", { class: "dialog", "aria-labelledby": "unsaved-title" });
  const actions = el("div", { class: "dialog-actions" });
  const stay = el("button", { type: "button", class: "btn" }, t("Stay on this page"));
  const discard = el("button", { type: "button", class: "btn" }, t("Discard the note and go on"));
  const save = el("button", { type: "button", class: "btn btn-primary" }, t("Save the note"));
  actions.append(stay, discard, save);
  const body = el("div", { class: "dialog-body" });
  body.append(el("p", {}, t("Save it before you leave the page?")));
  dialog.append(el("h2", { id: "unsaved-title" }, t("This note is not saved.")), body, actions);
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = null;
    stay.addEventListener("click", () => dialog.close());
    discard.addEventListener("click", () => { answer = "discard"; dialog.close(); });
    save.addEventListener("click", () => { answer = "save"; dialog.close(); });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && typeof opener.focus === "function") opener.focus();
      resolve(answer);
    });
    dialog.showModal();
    stay.focus();
  });
}

function discardNote() {
  localStorage.removeItem(`ecabinet:draft:${documentId}:${page}`);
  noteText.value = notes[page] || "";
  dirty = false;
  noteStatus.textContent = "";
}

function showNote() {
  noteText.value = notes[page] || "";
  dirty = false;
  noteStatus.textContent = "";
}

/** Go to a page; an unsaved note is saved or kept first (never lost silently). */
async function go(target, { byPresenter = false } = {}) {
  if (!pdf) return;
  const next = Math.min(pdf.numPages, Math.max(1, target));
  if (next === page) return;
  if (dirty && !byPresenter) {
    const answer = await askUnsaved();
    if (!answer) return;
    if (answer === "save" && !(await saveNote())) return;
    if (answer === "discard") discardNote();
  }
  if (dirty && byPresenter) localStorage.setItem(`ecabinet:draft:${documentId}:${page}`, noteText.value);
  if (!byPresenter) leaveFollow();
  page = next;
  localStorage.setItem(LAST_PAGE, String(page));
  showNote();
  const draft = localStorage.getItem(`ecabinet:draft:${documentId}:${page}`);
  if (draft !== null && draft !== noteText.value) { noteText.value = draft; dirty = true; noteStatus.textContent = t("Unsaved"); }
  stage.scrollTo(0, 0);
  await render();
}

function setFit(mode) {
  fit = mode;
  zoom = 1;
  localStorage.setItem(FIT, mode);
  render();
}

$("prev").addEventListener("click", () => go(page - 1));
$("next").addEventListener("click", () => go(page + 1));
$("fit-width").addEventListener("click", () => setFit("width"));
$("fit-page").addEventListener("click", () => setFit("page"));
$("zoom-in").addEventListener("click", () => { zoom = Math.min(4, zoom * 1.25); render(); });
$("zoom-out").addEventListener("click", () => { zoom = Math.max(0.4, zoom / 1.25); render(); });
$("page-input").addEventListener("change", (event) => {
  const n = parseInt(event.target.value, 10);
  if (Number.isFinite(n)) go(n); else event.target.value = String(page);
});
stage.querySelector(".tap-prev").addEventListener("click", () => go(page - 1));
stage.querySelector(".tap-next").addEventListener("click", () => go(page + 1));
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select, dialog")) return;
  if (event.key === "ArrowRight" || event.key === "PageDown") go(page + 1);
  if (event.key === "ArrowLeft" || event.key === "PageUp") go(page - 1);
});

// swipe: a horizontal stroke when the page is not zoomed past its width turns the page
let touch = null;
stage.addEventListener("touchstart", (event) => {
  if (event.touches.length === 1) touch = { x: event.touches[0].clientX, y: event.touches[0].clientY, at: Date.now() };
}, { passive: true });
stage.addEventListener("touchend", (event) => {
  if (!touch || event.changedTouches.length !== 1) return;
  const dx = event.changedTouches[0].clientX - touch.x;
  const dy = event.changedTouches[0].clientY - touch.y;
  const scrollable = stage.scrollWidth > stage.clientWidth + 2;
  if (!scrollable && Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy) && Date.now() - touch.at < 800) go(dx < 0 ? page + 1 : page - 1);
  touch = null;
}, { passive: true });
let resizeTimer = null;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 120); });

// --- panels: thumbnails, find, notes -------------------------------------------------------------

function toggle(button, panel, after) {
  const open = panel.hidden;
  panel.hidden = !open;
  button.setAttribute("aria-pressed", String(open));
  if (after) after(open);
  render();
}
$("toggle-thumbs").addEventListener("click", () => toggle($("toggle-thumbs"), $("thumbs"), (open) => { if (open) buildThumbs(); }));
$("toggle-notes").addEventListener("click", async () => {
  if (!$("notes").hidden && dirty) {
    const answer = await askUnsaved();
    if (!answer) return;
    if (answer === "save" && !(await saveNote())) return;
    if (answer === "discard") discardNote();
  }
  toggle($("toggle-notes"), $("notes"), (open) => {
    if (open) { noteText.focus(); localStorage.removeItem(`ecabinet:notes-closed:${userId}`); }
    else localStorage.setItem(`ecabinet:notes-closed:${userId}`, "yes");
  });
});
$("toggle-find").addEventListener("click", () => toggle($("toggle-find"), $("findbar"), (open) => {
  if (open) $("find-input").focus(); else searched = "";
}));

let thumbsBuilt = false;
function buildThumbs() {
  if (thumbsBuilt || !pdf) return;
  thumbsBuilt = true;
  const list = $("thumb-list");
  const observer = new IntersectionObserver((entries) => {
    entries.forEach(async (entry) => {
      if (!entry.isIntersecting) return;
      observer.unobserve(entry.target);
      const n = Number(entry.target.dataset.page);
      const p = await pdf.getPage(n);
      const viewport = p.getViewport({ scale: 120 / p.getViewport({ scale: 1 }).width });
      const small = entry.target.querySelector("canvas");
      small.width = viewport.width;
      small.height = viewport.height;
      await p.render({ canvasContext: small.getContext("2d"), viewport }).promise.catch(() => {});
    });
  }, { root: $("thumbs") });
  for (let n = 1; n <= pdf.numPages; n += 1) {
    const button = el("button", { type: "button", "data-page": n, "aria-label": `${t("Page")} ${n}` });
    button.append(el("canvas", { width: 120, height: 160, "aria-hidden": "true" }), el("span", {}, String(n)));
    button.addEventListener("click", async () => {
      await go(n);
      // on a phone the thumbnails take the room above the page: fold them once a page is chosen
      if (window.innerWidth <= 600 && !$("thumbs").hidden) $("toggle-thumbs").click();
    });
    const li = el("li", {});
    li.append(button);
    list.append(li);
    observer.observe(button);
  }
  markThumb();
}
function markThumb() {
  document.querySelectorAll("#thumb-list button").forEach((button) => {
    if (Number(button.dataset.page) === page) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  });
}

// find: accents and case ignored ("dat dai" finds "Đất đai"), results page by page
const texts = new Map();
const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
async function pageText(n) {
  if (!texts.has(n)) {
    const content = await (await pdf.getPage(n)).getTextContent();
    texts.set(n, fold(content.items.map((item) => item.str).join(" ")));
  }
  return texts.get(n);
}
$("findbar").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = fold($("find-input").value.trim());
  if (!query || !pdf) return;
  $("find-status").textContent = t("Searching…");
  const hits = [];
  for (let n = 1; n <= pdf.numPages; n += 1) {
    const count = (await pageText(n)).split(query).length - 1;
    if (count) hits.push([n, count]);
  }
  searched = query;
  if (!hits.length) { $("find-status").textContent = t("No match"); render(); return; }
  const next = hits.find(([n]) => n > page) || hits[0];
  if (next[0] === page) await render(); else await go(next[0]);
  $("find-status").textContent = `${next[1]} ${t("matches on page")} ${next[0]} · ${hits.length} ${t("pages with matches")}`;
});

// the matches of the last search on the page drawn, marked in yellow (a match across two text runs
// is counted but not marked)
let searched = "";
async function highlight(p, viewport) {
  if (!searched) return;
  const content = await p.getTextContent();
  const context = canvas.getContext("2d");
  context.save();
  context.globalCompositeOperation = "multiply";
  context.fillStyle = "rgba(255, 214, 0, 0.75)";
  content.items.forEach((item) => {
    const text = fold(item.str || "");
    if (!text || !item.width) return;
    const size = Math.hypot(item.transform[2], item.transform[3]) || item.height;
    for (let at = text.indexOf(searched); at !== -1; at = text.indexOf(searched, at + searched.length)) {
      const x = item.transform[4] + (item.width * at) / text.length;
      const w = (item.width * searched.length) / text.length;
      const y = item.transform[5];
      const [x1, y1, x2, y2] = viewport.convertToViewportRectangle([x, y - size * 0.25, x + w, y + size]);
      context.fillRect(Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1));
    }
  });
  context.restore();
}

// notes: private to the reader; a draft survives a reload until it is saved
async function saveNote() {
  try {
    const body = await saveReaderNote(documentId, page, noteText.value);
    notes[page] = body.text;
    dirty = false;
    localStorage.removeItem(`ecabinet:draft:${documentId}:${page}`);
    noteStatus.textContent = body.queued ? t("briefcase_note_queued") : "✓";
    announce(body.queued ? t("briefcase_note_queued") : t("Saved"));
    return true;
  } catch (error) {
    noteStatus.textContent = error.message;
    return false;
  }
}
$("note-save").addEventListener("click", saveNote);
noteText.addEventListener("input", () => {
  dirty = noteText.value !== (notes[page] || "");
  noteStatus.textContent = dirty ? t("Unsaved") : "";
  if (dirty) localStorage.setItem(`ecabinet:draft:${documentId}:${page}`, noteText.value);
  else localStorage.removeItem(`ecabinet:draft:${documentId}:${page}`);
});
window.addEventListener("beforeunload", (event) => { if (dirty) { event.preventDefault(); event.returnValue = ""; } });

// --- follow the presenter ------------------------------------------------------------------------

const params = new URLSearchParams(window.location.search);
let following = params.get("follow") === String(meetingId);
let presented = null;
let mayPresent = false;
let inSession = false;

function showFollow() {
  const bar = $("follow-bar");
  const onThis = presented && presented.document_id === documentId;
  bar.hidden = !(inSession && (presented || mayPresent));
  bar.classList.toggle("away", Boolean(presented) && !following);
  if (following && presented) $("follow-text").textContent = `${t("Following the presenter")} · ${t("Page")} ${presented.page}`;
  else if (presented) {
    $("follow-text").textContent = `${t("The presenter is on")} ${t("page")} ${presented.page}${onThis ? "" : ` (${t("another document")})`}. ${t("You are reading on your own.")}`;
  }
  else $("follow-text").textContent = "";
  $("follow-return").hidden = !presented || following;
  $("follow-leave").hidden = !following || !presented;
  $("present-here").hidden = !mayPresent;
}
function leaveFollow() {
  if (!following) return;
  following = false;
  showFollow();
}
async function applyPresentation(p, { jump }) {
  presented = p;
  if (p && following && jump) {
    if (p.document_id !== documentId) {
      window.location.href = `/documents/${p.document_id}/view?follow=${meetingId}#page=${p.page}`;
      return;
    }
    await go(p.page, { byPresenter: true });
  }
  showFollow();
}
$("follow-return").addEventListener("click", () => { following = true; applyPresentation(presented, { jump: true }); });
$("follow-leave").addEventListener("click", () => { following = false; showFollow(); });
$("present-here").addEventListener("click", async () => {
  try {
    await apiCall("POST", `/meetings/${meetingId}/present`, { document_id: documentId, page });
    announce(`${t("Presenting page")} ${page}`);
  } catch (error) { $("follow-text").textContent = error.message; }
});

async function joinMeeting() {
  let live;
  try { live = await apiCall("GET", `/meetings/${meetingId}/live`); } catch (error) { return; }
  inSession = live.status === "in_session";
  const meeting = await apiCall("GET", `/meetings/${meetingId}`).catch(() => null);
  mayPresent = inSession && (Boolean(root.dataset.secretariat) || (meeting && meeting.chair_id === userId));
  await applyPresentation(live.presentation, { jump: following });
  if (!window.io) return;
  let lastSeq = live.seq;
  const socket = pageSocket();
  const join = () => socket.emit("join", { meeting_id: meetingId, last_seq: lastSeq }, () => {});
  socket.on("connect", join);
  if (socket.connected) join();
  socket.on("event", (event) => {
    if (event.meeting_id !== meetingId || event.seq <= lastSeq) return;
    lastSeq = event.seq;
    if (event.type === "presentation.moved") applyPresentation(event.data, { jump: true });
    if (event.type === "agenda.activated") applyPresentation(null, { jump: false });
    if (event.type === "session.closed") { inSession = false; mayPresent = false; showFollow(); }
  });
}

// --- start ---------------------------------------------------------------------------------------

async function start() {
  try {
    if (hasNotes) for (const n of await readerNotes(documentId)) notes[n.page] = n.text;
  } catch (error) { /* notes are optional to reading */ }
  pdf = await pdfjsLib.getDocument({ ...(await readerPdf(documentId, root.dataset.contentUrl)), withCredentials: true,
    disableRange: true, disableStream: true, isEvalSupported: false }).promise;
  const fromHash = Number(new URLSearchParams(window.location.hash.slice(1)).get("page"));
  const remembered = Number(localStorage.getItem(LAST_PAGE));
  page = Math.min(pdf.numPages, Math.max(1, fromHash || remembered || 1));
  if (hasNotes && window.innerWidth > 900 && !localStorage.getItem(`ecabinet:notes-closed:${userId}`)) {
    $("notes").hidden = false;
    $("toggle-notes").setAttribute("aria-pressed", "true");
  }
  showNote();
  await render();
  joinMeeting();
}
start();
