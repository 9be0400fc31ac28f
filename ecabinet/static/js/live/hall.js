// The hall screen (projector, 1920x1080 or 3840x2160): large type, no personal header. A display
// logs in with the read-only credential the secretariat issued (kept on the device, sent as a
// header, never in a URL the server logs); an operator's logged-in /room page reads the same view.
import { announce, apiCall, el, formatTime, t } from "../ui.js";
import { tick } from "./timer.js";
import { resultBlock, resultSummary } from "./words.js";

const root = document.getElementById("hall");
const meetingId = root.dataset.meetingId;
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "ecabinet:hall-token";

const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (fromHash) {
  localStorage.setItem(TOKEN_KEY, fromHash);
  history.replaceState(null, "", window.location.pathname);
}
const token = meetingId ? null : localStorage.getItem(TOKEN_KEY);
let shown = "";
let lastVoteKey = null;

function message(text) {
  $("hall-message").textContent = text || "";
  $("hall-message").hidden = !text;
}

function render(s) {
  $("hall-title").textContent = s.meeting.title;
  document.title = s.meeting.title;
  $("hall-status").textContent = t(s.meeting.status);
  $("hall-status").dataset.status = s.meeting.status;
  // an item is discussed and a document presented only while the session is open
  const live = s.meeting.status === "in_session";
  const item = live ? s.current_item : null;
  const presentation = live ? s.presentation : null;
  $("hall-item").textContent = item ? `${item.position}. ${item.title}` : "";
  $("hall-item").hidden = !item;
  $("hall-item-label").hidden = !item;
  $("hall-presenter").textContent = item ? item.presenter || "" : "";
  $("hall-speaker").textContent = s.speaker ? s.speaker.full_name : "—";
  const timer = $("hall-timer");
  timer.dataset.grantedAt = s.speaker ? s.speaker.granted_at || "" : "";
  timer.dataset.allotted = s.speaker ? s.speaker.allotted_seconds || "" : "";
  tick(timer);
  const queue = $("hall-queue");
  queue.replaceChildren(...s.queue.slice(0, 6).map((q) => el("li", {}, q.full_name)));
  $("hall-queue-empty").hidden = s.queue.length > 0;
  const q = s.quorum;
  $("hall-quorum").textContent = `${q.present} ${t("present of")} ${q.total_members} ${t("members")} · ${q.reached ? t("Quorum reached") : t("No quorum")}`;
  $("hall-doc").textContent = presentation ? `${presentation.title} · ${t("Page")} ${presentation.page}${presentation.pages ? `/${presentation.pages}` : ""}` : "";
  // the document's column appears only when something is presented, and then takes most of the width
  $("hall-doc-card").hidden = !presentation;
  root.classList.toggle("presenting", Boolean(presentation));

  showPage(presentation);

  const vote = s.vote;
  const voteBox = $("hall-vote");
  const resultBox = $("hall-result");
  const key = vote ? `${vote.id}-${vote.status}-${vote.cast}` : "";
  if (key === lastVoteKey) return;
  lastVoteKey = key;
  voteBox.replaceChildren();
  resultBox.replaceChildren();
  if (!vote) { voteBox.append(el("p", { class: "muted" }, t("No vote yet."))); return; }
  voteBox.append(el("p", { class: "hall-vote-kind" }, vote.secret ? t("Secret ballot") : t("Public vote")),
    el("p", { class: "hall-question" }, vote.question));
  if (vote.status === "open") {
    voteBox.append(el("p", { class: "hall-label" }, t("Voting in progress")),
      el("p", { class: "hall-count" }, `${vote.cast} / ${vote.entitled}`), el("p", { class: "hall-sub" }, `${t("votes cast of")} ${vote.entitled} ${t("entitled")}`));
  } else if (vote.result) {
    resultBox.append(resultBlock(vote.result));
    announce(resultSummary(vote.result));
  }
}

// the presented page itself, for a display (one page, never the whole dossier); an operator's
// logged-in screen shows the title and page number only
let shownPage = null;
async function showPage(presentation) {
  const canvas = $("hall-page");
  const key = presentation && token ? `${presentation.title}-${presentation.page}` : null;
  if (key === shownPage) return;
  shownPage = key;
  if (!key) { canvas.hidden = true; return; }
  try {
    const response = await fetch("/api/v1/hall/presented.pdf", { headers: { "X-Display-Token": token } });
    if (!response.ok) { canvas.hidden = true; return; }
    const data = new Uint8Array(await response.arrayBuffer());
    const pdfjs = await import("/static/vendor/pdf.min.mjs");
    pdfjs.GlobalWorkerOptions.workerSrc = root.dataset.workerUrl;
    const pdf = await pdfjs.getDocument({ data, isEvalSupported: false }).promise;
    const page = await pdf.getPage(1);
    const card = canvas.parentElement;
    const base = page.getViewport({ scale: 1 });
    const room = card.getBoundingClientRect();
    const top = canvas.previousElementSibling.getBoundingClientRect().bottom;
    const scale = Math.min((card.clientWidth - 40) / base.width, Math.max(room.bottom - top - 30, 100) / base.height);
    const viewport = page.getViewport({ scale: scale * (window.devicePixelRatio || 1) });
    canvas.width = viewport.width;
    canvas.height = viewport.height;
    await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    if (shownPage === key) canvas.hidden = false;
  } catch (error) {
    canvas.hidden = true;
  }
}

// the state is read once at start, then again each time the meeting's stream says something changed
// (a display receives each event's number only, never its content): no polling
const stateSeq = { socket: 0 };
let refreshTimer = null;
let refused = false;

function noCredential() {
  refused = true;  // a revoked screen stops asking
  message(t("This screen has no valid credential. Ask the secretariat for a new link."));
  root.dataset.ready = "yes";
}

async function refresh() {
  try {
    const path = meetingId ? `/meetings/${meetingId}/hall` : "/hall/state";
    const s = await apiCall("GET", path, undefined, { headers: token ? { "X-Display-Token": token } : {} });
    message("");
    // drawn again whenever anything differs, not only the event number: a state read while a change
    // was being written carries the new number with the old content
    const key = JSON.stringify({ ...s, now: null });
    if (key !== shown) { shown = key; render(s); }
    root.dataset.ready = "yes";
    return s;
  } catch (error) {
    if (error.code === "not_authenticated" || error.code === "token_invalid") noCredential();
    else message(t("Connection lost, reconnecting"));
    return null;
  }
}
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 40);
}

async function start() {
  let first = await refresh();
  while (!first) {
    if (refused) return;
    await new Promise((resolve) => { setTimeout(resolve, 5000); });
    first = await refresh();
  }
  const id = first.meeting.id;
  stateSeq.socket = first.seq;
  const socket = window.io({ transports: ["websocket"], auth: token ? { display_token: token } : undefined });
  socket.on("connect", () => socket.emit("join", { meeting_id: id, last_seq: stateSeq.socket }, (ack) => {
    if (!ack || !ack.ok) { message(t("Connection lost, reconnecting")); return; }
    scheduleRefresh();  // whatever changed between the first read and the join
  }));
  socket.on("connect_error", (error) => {
    if (error && (error.message === "token_invalid" || error.message === "not_authenticated")) {
      socket.disconnect();
      noCredential();
    } else message(t("Connection lost, reconnecting"));
  });
  socket.on("disconnect", () => message(t("Connection lost, reconnecting")));
  socket.on("event", (event) => {
    if (event.meeting_id !== id || event.seq <= stateSeq.socket) return;
    stateSeq.socket = event.seq;
    scheduleRefresh();
  });
}

if (!meetingId && !token) noCredential();
else start();
setInterval(() => { $("hall-clock").textContent = formatTime(new Date()); tick($("hall-timer")); }, 1000);
$("hall-clock").textContent = formatTime(new Date());
