// The dossier viewer: PDF.js (served by the app), page navigation, zoom and the private notes panel.
import * as pdfjsLib from "/static/vendor/pdf.min.mjs";

const root = document.getElementById("viewer");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
pdfjsLib.GlobalWorkerOptions.workerSrc = root.dataset.workerUrl;
const changed = new Set((root.dataset.changedPages || "").split(",").filter(Boolean).map(Number));
const canvas = document.getElementById("page-canvas");
const noteText = document.getElementById("note-text");
const noteStatus = document.getElementById("note-status");
let pdf = null;
let page = 1;
let scale = 1.0;
let notes = {};
let rendering = null;

async function render() {
  if (!pdf) return;
  const p = await pdf.getPage(page);
  const fit = (canvas.parentElement.clientWidth || 800) / p.getViewport({ scale: 1 }).width;
  const ratio = window.devicePixelRatio || 1;
  const viewport = p.getViewport({ scale: fit * scale * ratio });
  canvas.width = viewport.width;
  canvas.height = viewport.height;
  canvas.style.width = `${viewport.width / ratio}px`;
  if (rendering) rendering.cancel();
  rendering = p.render({ canvasContext: canvas.getContext("2d"), viewport });
  try { await rendering.promise; } catch (e) { return; }
  canvas.dataset.renderedPage = String(page);
  document.getElementById("page-label").textContent = `${page} / ${pdf.numPages}`;
  document.getElementById("zoom-label").textContent = `${Math.round(scale * 100)}%`;
  noteText.value = notes[page] || "";
  noteStatus.textContent = "";
  document.getElementById("changed-hint").hidden = !changed.has(page);
}

function go(delta) {
  if (!pdf) return;
  const next = Math.min(pdf.numPages, Math.max(1, page + delta));
  if (next !== page) { page = next; render(); }
}

document.getElementById("prev").addEventListener("click", () => go(-1));
document.getElementById("next").addEventListener("click", () => go(1));
document.getElementById("zoom-in").addEventListener("click", () => { scale = Math.min(4, scale + 0.25); render(); });
document.getElementById("zoom-out").addEventListener("click", () => { scale = Math.max(0.5, scale - 0.25); render(); });
document.addEventListener("keydown", (e) => {
  if (e.target === noteText) return;
  if (e.key === "ArrowRight" || e.key === "PageDown") go(1);
  if (e.key === "ArrowLeft" || e.key === "PageUp") go(-1);
});

document.getElementById("note-save").addEventListener("click", async () => {
  const res = await fetch(root.dataset.notesUrl, {
    method: "PUT", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ page, text: noteText.value }),
  });
  const body = await res.json();
  if (res.ok) { notes[page] = body.text; noteStatus.textContent = "✓"; }
  else { noteStatus.textContent = body.error ? body.error.message : res.status; }
});

async function start() {
  const res = await fetch(root.dataset.notesUrl, { credentials: "same-origin" });
  if (res.ok) for (const n of (await res.json()).notes) notes[n.page] = n.text;
  pdf = await pdfjsLib.getDocument({ url: root.dataset.contentUrl, withCredentials: true,
                                     disableRange: true, disableStream: true, isEvalSupported: false }).promise;
  await render();
}
start();
