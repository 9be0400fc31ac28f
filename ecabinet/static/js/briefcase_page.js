// The briefcase page (kept by the service worker; shown for /briefcase, and for /meetings/N and "/"
// when there is no network): the meetings held on this device and one meeting's agenda, decrypted
// from the briefcase. A dossier opens in the viewer, which the service worker also keeps.
import * as briefcase from "./briefcase.js";
import { el, formatDateTime, onBackOnline, t } from "./ui.js";

const $ = (id) => document.getElementById(id);

function showNetwork() {
  $("briefcase-network").textContent = navigator.onLine ? t("online") : t("offline");
}

function level(value) { return `${t("Level")}: ${t(value)}`; }

function showMeeting(held) {
  const { meeting, agenda } = held;
  $("briefcase-meeting").hidden = false;
  $("briefcase-meeting-title").textContent = meeting.title;
  $("briefcase-meeting-meta").textContent = level(meeting.confidentiality);
  $("briefcase-meeting-when").textContent = [`${formatDateTime(meeting.starts_at)} (${t("Hà Nội time")})`,
    meeting.location ? `${t("Location")}: ${meeting.location}` : "",
    t("taken").replace("%(when)s", formatDateTime(held.taken_at))].filter(Boolean).join(" · ");
  document.title = meeting.title;
  const list = $("briefcase-agenda");
  list.replaceChildren();
  agenda.forEach((item) => {
    const li = el("li", { class: "agenda-item", "data-item-id": item.id });
    li.append(el("h4", { class: "item-title" }, `${item.position}. ${item.title}`));
    if (item.presenter) li.append(el("small", { class: "muted" }, item.presenter));
    const docs = el("ul", { class: "list doc-list" });
    item.documents.forEach((doc) => {
      const link = el("a", { class: "doc-link", href: `/documents/${doc.id}/view` });
      link.append(el("strong", {}, doc.title),
        el("small", {}, [doc.doc_type, `${doc.pages} ${t("pages")}`, t(doc.confidentiality)].filter(Boolean).join(" · ")));
      const row = el("li", {});
      row.append(link);
      docs.append(row);
    });
    if (!item.documents.length) docs.append(el("li", { class: "muted" }, t("no_documents")));
    li.append(docs);
    list.append(li);
  });
}

async function showList(ids, current) {
  const items = [];
  for (const id of ids) {
    const held = await briefcase.meeting(id);
    if (held && id !== current) items.push(held);
  }
  if (!items.length) return;
  $("briefcase-list-card").hidden = false;
  if (current) $("briefcase-list-title").textContent = t("all_meetings");
  $("briefcase-list").replaceChildren(...items.map(({ meeting }) => {
    const li = el("li", {});
    const link = el("a", { href: `/meetings/${meeting.id}` });
    link.append(el("strong", {}, meeting.title), el("small", {}, `${formatDateTime(meeting.starts_at)} · ${level(meeting.confidentiality)}`));
    li.append(link);
    return li;
  }));
}

async function start() {
  showNetwork();
  // back online on a page the service worker stood in for: the real page (which sends queued notes)
  onBackOnline(() => { if (window.location.pathname !== "/briefcase") window.location.reload(); else showNetwork(); });
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);
  const ids = window.indexedDB ? await briefcase.meetingIds().catch(() => []) : [];
  if (!ids.length) { $("briefcase-empty").hidden = false; return; }
  if (!(await briefcase.unlocked())) { $("briefcase-locked").hidden = false; return; }
  const match = /^\/meetings\/(\d+)$/.exec(window.location.pathname);
  const wanted = Number(match ? match[1] : new URLSearchParams(window.location.search).get("meeting")) || 0;
  const held = wanted ? await briefcase.meeting(wanted) : null;
  if (held) showMeeting(held);
  await showList(ids, held ? wanted : 0);
}
start();
