// Where the viewer gets a dossier and the reader's notes: from the server when it answers, from the
// offline briefcase (briefcase.js) when the device is offline. On the briefcase's viewer page (what
// the service worker shows for /documents/N/view without a network) it also names the document.
import * as briefcase from "./briefcase.js";
import { apiCall, t } from "./ui.js";

const root = document.getElementById("viewer");
const shell = root.dataset.documentId === "0";

async function copyOf(documentId) {
  return window.indexedDB ? briefcase.documentCopy(documentId).catch(() => null) : null;
}

if (shell) {
  const match = /^\/documents\/(\d+)\/view/.exec(window.location.pathname);
  const id = match ? match[1] : new URLSearchParams(window.location.search).get("document");
  const copy = id ? await copyOf(id) : null;
  if (copy) {
    root.dataset.documentId = String(id);
    root.dataset.meetingId = String(copy.meetingId);
    root.querySelector(".pdf-title").textContent = copy.title;
    root.querySelector(".pdf-title").title = copy.title;
    root.querySelector(".pdf-toolbar a").href = `/meetings/${copy.meetingId}`;
    document.title = copy.title;
  } else {
    const notice = document.createElement("p");
    notice.className = "alert";
    notice.id = "briefcase-missing";
    notice.textContent = t("briefcase_missing");
    root.before(notice);
  }
}

const offline = () => shell || !navigator.onLine;

/** What pdf.js opens: the stamped copy's address online, the briefcase's decrypted bytes offline. */
export async function readerPdf(documentId, url) {
  if (offline()) {
    const copy = await copyOf(documentId);
    if (copy) return { data: new Uint8Array(copy.bytes) };
  }
  return { url };
}

/** The reader's notes on the document ([{page, text}]). */
export async function readerNotes(documentId) {
  if (!offline()) {
    try { return (await apiCall("GET", `/documents/${documentId}/notes`)).notes; } catch (error) { if (error.code !== "offline") throw error; }
  }
  const copy = await copyOf(documentId);
  return copy ? Object.entries(copy.notes).map(([page, text]) => ({ page: Number(page), text })) : [];
}

/** Save a note: to the server, or, offline, into the briefcase and its queue ({text, queued: true}). */
export async function saveReaderNote(documentId, page, text) {
  if (!offline()) {
    try {
      const body = await apiCall("PUT", `/documents/${documentId}/notes`, { page, text });
      if (window.indexedDB) await briefcase.rememberNote(documentId, page, body.text).catch(() => false);
      return body;
    } catch (error) { if (error.code !== "offline") throw error; }
  }
  if (window.indexedDB && (await briefcase.queueNote(documentId, page, text))) return { text, queued: true };
  throw { code: "offline", message: t("This device is offline.") };
}
