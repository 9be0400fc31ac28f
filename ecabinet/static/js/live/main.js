// The live room on every screen (chair, member, secretariat, guest). The server's snapshot is the
// truth; every list is updated in place (keyed), every change someone else caused is announced,
// and only the controls that apply to this person in this state are shown.
import { announce, apiCall, confirmAction, el, formatDateTime, formatTime, syncList, t } from "../ui.js";
import { connect } from "./connection.js";
import { startTimers } from "./timer.js";
import { resultBlock, resultSummary } from "./words.js";

const root = document.getElementById("live");
const meetingId = Number(root.dataset.meetingId);
const userId = Number(root.dataset.userId);
const screen = root.dataset.screen;
const isChair = screen === "chair";
const isSecretariat = screen === "secretariat";
const canVote = Boolean(root.dataset.canVote);
const canObject = Boolean(root.dataset.canObject);
const $ = (selector) => root.querySelector(selector);
const errorBox = $("#live-error");
let state = null;
let previous = null;

function show(node, visible) { if (node) node.hidden = !visible; }
function showError(error) {
  errorBox.textContent = error && error.message ? error.message : String(error);
  errorBox.hidden = false;
}
function clearError() { errorBox.hidden = true; }
async function act(method, path, body) {
  try {
    const answer = await apiCall(method, path, body);
    clearError();
    connection.refresh();
    return answer;
  } catch (error) {
    showError(error);
    throw error;
  }
}

// --- the state bar ------------------------------------------------------------------------------

// an item is being discussed only while the session is open; after closing none is
function currentItem(s) {
  return s.status === "in_session" ? s.agenda.find((i) => i.id === s.current_item_id) : undefined;
}

function renderStatus(s) {
  const badge = $("#session-state");
  badge.textContent = t(s.status);
  badge.className = `badge state-${s.status}`;
  const discussed = currentItem(s);
  $("#current-item").textContent = discussed ? `${discussed.position}. ${discussed.title}` : t("None yet");
  show($("#current-item").parentElement, s.status !== "closed" && s.status !== "archived");
  const q = s.quorum;
  $("#quorum").textContent = `${q.present} ${t("present of")} ${q.total_members} ${t("members")} · ${t("required")} ${q.required} · ${q.reached ? t("Quorum reached") : t("No quorum")}`;
  const mine = s.attendance.find((row) => row.user_id === userId);
  const attendance = $("#my-attendance");
  if (attendance) {
    attendance.textContent = mine && mine.present ? `${t("Checked in at")} ${formatTime(mine.checked_in_at)}`
      : mine && mine.absence_reason ? `${t("Absent")}: ${mine.absence_reason}` : t("Not checked in");
  }
  const live = s.status === "in_session";
  const open = live || s.status === "published";
  show($("[data-action=checkin]"), open && mine && !mine.present);
  const queue = s.speakers.filter((sp) => sp.status === "requested");
  const mySpeaker = s.speakers.find((sp) => sp.user_id === userId && (sp.status === "requested" || sp.status === "granted"));
  show($("[data-action=speak]"), live && !mySpeaker);
  show($("[data-action=withdraw]"), live && mySpeaker && mySpeaker.status === "requested");
  const myQueue = $("#my-queue");
  if (myQueue) {
    if (mySpeaker && mySpeaker.status === "granted") myQueue.textContent = t("You have the floor");
    else if (mySpeaker) myQueue.textContent = `${t("Your place in the queue")}: ${queue.indexOf(mySpeaker) + 1}/${queue.length}`;
    else myQueue.textContent = t("Not registered");
  }
  show($("#chair-panel"), s.status === "published" || live);
  const speakingTime = $("#speaking-time");
  if (speakingTime) show(speakingTime.closest("label"), live);
  if (isChair) {
    show($("[data-action=start]"), s.status === "published");
    show($("[data-action=close]"), live);
    show($("[data-action=consent]"), live && (s.consent_candidates || []).length > 0);
    show($("#vote-form"), live && !s.votes.some((v) => v.status === "open"));
  }
  // a conclusion is written for the item being discussed: none once the session is closed
  const conclusion = $("#conclusion-form");
  if (conclusion) show(conclusion.closest("section"), Boolean(discussed));
}

// --- speakers ------------------------------------------------------------------------------------

function renderSpeakers(s) {
  const granted = s.speakers.find((sp) => sp.status === "granted");
  const current = $("#current-speaker");
  show(current, Boolean(granted));
  if (granted) {
    current.querySelector(".name").textContent = granted.full_name;
    setTimer(current.querySelector("[data-timer]"), granted);
  }
  const banner = document.getElementById("floor-banner");
  const mine = granted && granted.user_id === userId;
  show(banner, Boolean(mine));
  if (mine) setTimer(banner.querySelector("[data-timer]"), granted);

  const queue = s.speakers.filter((sp) => sp.status === "requested");
  const list = $("#speakers");
  syncList(list, queue, (sp) => sp.id, (sp) => {
    const li = el("li", { "data-speaker-id": sp.id });
    li.append(el("span", { class: "pos" }), el("span", { class: "speaker-name" }));
    if (isChair) {
      const grant = el("button", { class: "btn btn-primary", type: "button", "data-action": "grant" }, t("Give the floor"));
      grant.addEventListener("click", () => grantFloor(sp.id));
      li.append(grant);
    }
    if (sp.user_id === userId) {
      const withdraw = el("button", { class: "btn", type: "button" }, t("Withdraw"));
      withdraw.addEventListener("click", () => act("DELETE", `/meetings/${meetingId}/speakers/${sp.id}`));
      li.append(withdraw);
    }
    return li;
  }, (li, sp, index) => {
    li.dataset.status = sp.status;
    li.querySelector(".pos").textContent = String(index + 1);
    li.querySelector(".speaker-name").textContent = `${sp.full_name} · ${t("Requested at")} ${formatTime(sp.requested_at)}`;
    if (sp.user_id === userId) li.classList.add("mine");
  });
  show($("#speakers-empty"), queue.length === 0);

  // closing ends the waiting requests (withdrawn at the closing time, never granted): still named
  const closedAt = s.closed_at ? Date.parse(s.closed_at) : null;
  const unheard = closedAt === null ? [] : s.speakers.filter((sp) => sp.status === "withdrawn" && !sp.granted_at
    && sp.finished_at && Math.abs(Date.parse(sp.finished_at) - closedAt) < 1000);
  const unheardBox = $("#unheard");
  if (unheardBox) {
    show(unheardBox, unheard.length > 0);
    show($("#speakers-empty"), queue.length === 0 && unheard.length === 0);
    show($("#waiting-title"), queue.length > 0 || unheard.length === 0);
    syncList($("#unheard-list"), unheard, (sp) => sp.id, (sp) => el("li", {},
      `${sp.full_name} · ${t("Requested at")} ${formatTime(sp.requested_at)}`), () => {});
  }

  const wishesBox = $("#wishes");
  if (wishesBox) {
    const waiting = new Set(s.speakers.filter((sp) => sp.status === "requested" || sp.status === "granted").map((sp) => sp.user_id));
    const wishes = (s.wishes_to_speak || []).filter((w) => (!s.current_item_id || w.agenda_item_id === s.current_item_id) && !waiting.has(w.user_id));
    show(wishesBox, s.status === "in_session" && wishes.length > 0);
    syncList($("#wishes-list"), wishes, (w) => `${w.agenda_item_id}-${w.user_id}`, (w) => {
      const li = el("li", {});
      li.append(el("span", { class: "speaker-name" }, w.full_name));
      const add = el("button", { class: "btn", type: "button" }, t("Put in the queue"));
      add.addEventListener("click", () => act("POST", `/meetings/${meetingId}/speakers/enqueue`, { user_id: w.user_id }));
      li.append(add);
      return li;
    }, () => {});
  }
}

const timers = new Map();
function setTimer(node, speaker) {
  node.dataset.grantedAt = speaker.granted_at || "";
  node.dataset.allotted = speaker.allotted_seconds || "";
  timers.set(node, true);
}

function grantFloor(speakerId) {
  const select = $("#speaking-time");
  const seconds = select && select.value ? Number(select.value) : undefined;
  act("POST", `/meetings/${meetingId}/speakers/${speakerId}/grant`, seconds ? { seconds } : {});
}

// --- agenda --------------------------------------------------------------------------------------

function renderAgenda(s) {
  const mayActivate = (isChair || isSecretariat) && s.status === "in_session";
  syncList($("#agenda"), s.agenda, (item) => item.id, (item) => {
    const li = el("li", { "data-item-id": item.id });
    const text = el("div", { class: "item-text" });
    text.append(el("strong", { class: "title" }), el("small", { class: "presenter" }));
    li.append(text, el("span", { class: "badges" }));
    if (isChair || isSecretariat) {
      const activate = el("button", { class: "btn", type: "button", "data-action": "activate" }, t("Discuss now"));
      activate.addEventListener("click", () => act("POST", `/meetings/${meetingId}/agenda/${item.id}/activate`));
      li.append(activate);
    }
    if (canObject) {
      const object = el("button", { class: "btn", type: "button", "data-action": "object" }, t("Object: discuss this item"));
      object.addEventListener("click", () => objectToConsent(item));
      li.append(object);
    }
    return li;
  }, (li, item) => {
    const current = s.status === "in_session" && item.id === s.current_item_id;
    li.classList.toggle("current", current);
    if (current) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    li.querySelector(".title").textContent = `${item.position}. ${item.title}`;
    li.querySelector(".presenter").textContent = item.presenter || "";
    const badges = li.querySelector(".badges");
    badges.replaceChildren();
    if (current) badges.append(el("span", { class: "badge" }, t("Now")));
    const inBlock = s.consent_candidates.includes(item.id);
    if (item.adopted_without_discussion) badges.append(el("span", { class: "badge ok" }, t("Adopted without discussion")));
    else if (inBlock) badges.append(el("span", { class: "badge" }, t("To be adopted without discussion")));
    else if (item.consent_withdrawn) badges.append(el("span", { class: "badge warn" }, t("Taken out to be discussed")));
    const activate = li.querySelector("[data-action=activate]");
    if (activate) activate.hidden = !mayActivate || current || item.adopted_without_discussion;
    const object = li.querySelector("[data-action=object]");
    if (object) {
      object.hidden = !inBlock || !(s.status === "published" || s.status === "in_session");
      object.setAttribute("aria-label", `${t("Object: discuss this item")}: ${item.position}. ${item.title}`);
    }
  });
}

/** A member objects to an item of the consent block: after a confirmation it leaves the block and is discussed. */
async function objectToConsent(item) {
  const body = el("div", {});
  body.append(el("p", {}, `${item.position}. ${item.title}`),
    el("p", {}, t("The item leaves the consent block: it will be discussed and cannot be adopted without discussion. This cannot be undone.")));
  const ok = await confirmAction({ title: t("Object to adopting this item without discussion?"), body,
    confirmLabel: t("Object and ask for discussion"), danger: true });
  if (!ok) return;
  await act("POST", `/meetings/${meetingId}/agenda/${item.id}/consent-objection`, { reason: "objection" })
    .then(() => announce(t("Your objection was recorded: the item will be discussed."))).catch(() => {});
}

// --- votes ---------------------------------------------------------------------------------------

const myChoices = JSON.parse(localStorage.getItem(`ecabinet:votes:${meetingId}:${userId}`) || "{}");
function remember(voteId, choice) {
  myChoices[voteId] = choice;
  localStorage.setItem(`ecabinet:votes:${meetingId}:${userId}`, JSON.stringify(myChoices));
}
let pendingChoice = null;

function renderOpenVote(s) {
  const vote = s.votes.find((v) => v.status === "open");
  const box = document.getElementById("vote-live");
  show(box, Boolean(vote));
  if (!vote) return;
  box.dataset.voteId = vote.id;
  document.getElementById("vote-live-kind").textContent = vote.secret ? t("Secret ballot") : t("Public vote");
  document.getElementById("vote-live-title").textContent = vote.question;
  document.getElementById("vote-live-progress").textContent = `${vote.cast} ${t("votes cast of")} ${vote.entitled} ${t("entitled")}`;
  if (!canVote) return;
  const mine = myChoices[vote.id];
  const errorNode = document.getElementById("vote-error");
  const held = !mine && !errorNode.hidden && errorNode.dataset.retryVote === String(vote.id) ? errorNode.dataset.retryChoice : null;
  const shown = mine || pendingChoice || held;
  box.querySelectorAll("button.choice[data-choice]").forEach((button) => {
    button.setAttribute("aria-pressed", String(shown === button.dataset.choice));
    button.classList.toggle("held", !mine && shown === button.dataset.choice);
    button.disabled = Boolean(mine) || pendingChoice !== null;
  });
  const status = document.getElementById("my-vote");
  if (mine === "voted") status.textContent = t("You have voted");
  else if (mine) status.textContent = `${t("Your vote was recorded")}: ${t(mine)}`;
  else if (pendingChoice) status.textContent = t("Sending your vote…");
  else if (held) status.textContent = `${t("Your choice, not sent yet")}: ${t(held)}`;
  else status.textContent = "";
}

async function castVote(choice) {
  const box = document.getElementById("vote-live");
  const voteId = Number(box.dataset.voteId);
  pendingChoice = choice;
  renderOpenVote(state);
  const errorNode = document.getElementById("vote-error");
  try {
    const answer = await apiCall("POST", `/votes/${voteId}/cast`, { choice });
    localStorage.setItem(`receipt:vote:${voteId}`, JSON.stringify(answer.receipt));
    remember(voteId, choice);
    errorNode.hidden = true;
    announce(`${t("Your vote was recorded")}: ${t(choice)}`);
    pendingChoice = null;
  } catch (error) {
    if (error.code === "already_voted") {
      // a retry after a lost answer: the first one counted, and it is never counted twice
      remember(voteId, pendingChoice === choice && myChoices[voteId] ? myChoices[voteId] : choice);
      errorNode.hidden = true;
      pendingChoice = null;
    } else {
      errorNode.querySelector(".msg").textContent = error.code === "offline"
        ? t("Your vote could not be sent. Your choice is kept; try again.") : error.message;
      errorNode.hidden = false;
      errorNode.dataset.retryChoice = choice;
      errorNode.dataset.retryVote = String(voteId);
      pendingChoice = null;
    }
  }
  renderOpenVote(state);
}

function renderVotes(s) {
  const votes = s.votes.slice().reverse();
  syncList($("#votes"), votes, (v) => v.id, () => el("li", { class: "vote" }), (li, vote) => {
    li.dataset.voteId = vote.id;
    li.dataset.status = vote.status;
    const signature = `${vote.status}-${vote.cast}`;
    if (li.dataset.signature === signature) return;
    li.dataset.signature = signature;
    li.replaceChildren();
    const head = el("div", { class: "vote-head" });
    head.append(el("strong", {}, vote.question),
      el("span", { class: "badge" }, vote.secret ? t("Secret ballot") : t("Public vote")));
    li.append(head);
    if (vote.status === "open") {
      li.append(el("p", { class: "muted" }, `${t("Open")} · ${vote.cast} ${t("votes cast of")} ${vote.entitled} ${t("entitled")}`));
    } else if (vote.result) {
      li.append(resultBlock(vote.result));
      if (myChoices[vote.id] && myChoices[vote.id] !== "voted") {
        li.append(el("p", { class: "muted" }, `${t("Your vote was recorded")}: ${t(myChoices[vote.id])}`));
      }
      // names are for those in the room who vote; a guest's screen never lists them
      if (vote.names && vote.names.length && root.dataset.role !== "guest") {
        const details = el("details", {});
        details.append(el("summary", {}, t("How each member voted")));
        const names = el("ul", { class: "names" });
        vote.names.forEach((n) => names.append(el("li", {}, `${n.full_name}: ${t(n.choice)}`)));
        details.append(names);
        li.append(details);
      }
    }
  });
  show($("#votes-empty"), votes.length === 0);
}

// --- presentation --------------------------------------------------------------------------------

// the documents this person may read, from the meeting (a guest sees only its items' documents)
let readable = null;
async function readableDocuments() {
  if (!readable) {
    readable = apiCall("GET", `/meetings/${meetingId}`).then((meeting) => {
      const map = new Map();
      (meeting.agenda || []).forEach((item) => (item.documents || []).forEach((doc) => map.set(doc.id, doc.title)));
      return map;
    }).catch(() => new Map());
  }
  return readable;
}

async function renderPresentation(s) {
  const card = $("#presentation-card");
  const p = s.presentation;
  if (!p || s.status !== "in_session") { show(card, false); return; }
  const titles = await readableDocuments();
  const title = titles.get(p.document_id);
  show(card, title !== undefined);
  if (title === undefined) return;
  $("#presentation-text").textContent = `${title} · ${t("Page")} ${p.page}`;
  $("#presentation-follow").href = `/documents/${p.document_id}/view?follow=${meetingId}#page=${p.page}`;
}

// --- secretariat ---------------------------------------------------------------------------------

function renderAttendance(s) {
  const table = $("#attendance");
  if (!table) return;
  const mayCheck = s.status === "published" || s.status === "in_session";
  syncList(table.tBodies[0], s.attendance, (row) => row.user_id, (row) => {
    const tr = el("tr", { "data-user-id": row.user_id });
    tr.append(el("td", {}, row.full_name), el("td", { class: "role" }), el("td", { class: "state" }));
    return tr;
  }, (tr, row) => {
    tr.querySelector(".role").textContent = t(row.role) + (row.represents ? ` (${row.represents})` : "");
    const cell = tr.querySelector(".state");
    const signature = `${row.present}-${mayCheck}`;
    if (cell.dataset.signature === signature) return;
    cell.dataset.signature = signature;
    cell.replaceChildren();
    if (row.present) cell.append(el("span", { class: "badge ok" }, `${t("Present")} ${formatTime(row.checked_in_at)}`));
    else if (mayCheck) {
      const button = el("button", { class: "btn", type: "button" }, t("Check in"));
      button.setAttribute("aria-label", `${t("Check in")}: ${row.full_name}`);
      button.addEventListener("click", () => act("POST", `/meetings/${meetingId}/attendance`, { user_id: row.user_id, present: true }));
      cell.append(button);
    } else cell.append(el("span", { class: "muted" }, t("Not checked in")));
  });
}

async function loadDisplays() {
  const list = $("#displays");
  if (!list) return;
  const answer = await apiCall("GET", `/meetings/${meetingId}/displays`).catch(() => ({ displays: [] }));
  syncList(list, answer.displays, (d) => d.id, (d) => {
    const li = el("li", {});
    li.append(el("span", { class: "speaker-name" }));
    const revoke = el("button", { class: "btn btn-danger", type: "button" }, t("Revoke"));
    revoke.addEventListener("click", async () => {
      const ok = await confirmAction({ title: `${t("Revoke the screen")} “${d.name}”?`, body: t("The screen stops showing the session at once."),
        confirmLabel: t("Revoke"), danger: true });
      if (ok) { await act("DELETE", `/meetings/${meetingId}/displays/${d.id}`); loadDisplays(); }
    });
    li.append(revoke);
    return li;
  }, (li, d) => {
    li.querySelector(".speaker-name").textContent = `${d.name} · ${d.revoked_at ? t("Revoked") : d.last_seen_at ? `${t("Last seen")} ${formatDateTime(d.last_seen_at)}` : t("Never connected")}`;
    li.querySelector("button").hidden = Boolean(d.revoked_at);
  });
}

// --- what changed, for screen readers ------------------------------------------------------------

function announceChanges(before, now) {
  if (!before) return;
  if (before.status !== now.status) {
    if (now.status === "in_session") announce(t("The session is open"));
    if (now.status === "closed") announce(t("The session is closed"));
  }
  if (before.current_item_id !== now.current_item_id) {
    const item = now.agenda.find((i) => i.id === now.current_item_id);
    if (item) announce(`${t("Now discussing")}: ${item.position}. ${item.title}`);
  }
  const wasOpen = before.votes.find((v) => v.status === "open");
  const isOpen = now.votes.find((v) => v.status === "open");
  if (isOpen && (!wasOpen || wasOpen.id !== isOpen.id)) {
    announce(`${t("A vote is open")}: ${isOpen.question}`, { assertive: true });
    // focus goes to the question, not to a choice, so that no key press can vote by accident
    const title = document.getElementById("vote-live-title");
    const typing = document.activeElement && document.activeElement.matches("input, textarea, select");
    if (canVote && !typing && !document.querySelector("dialog[open]")) title.focus();
  }
  if (wasOpen && !isOpen) {
    const closed = now.votes.find((v) => v.id === wasOpen.id);
    if (closed && closed.result) announce(`${t("The vote is closed")}: ${resultSummary(closed.result)}`, { assertive: true });
  }
  const grantedBefore = before.speakers.find((sp) => sp.status === "granted");
  const grantedNow = now.speakers.find((sp) => sp.status === "granted");
  if (grantedNow && (!grantedBefore || grantedBefore.id !== grantedNow.id)) {
    if (grantedNow.user_id === userId) announce(t("You have the floor, please speak"), { assertive: true });
    else announce(`${grantedNow.full_name} ${t("has the floor")}`);
  }
}

// the documented fields, defaulted: a screen may receive a narrower state (a guest sees only its items)
function normalise(snapshot) {
  return {
    ...snapshot,
    agenda: snapshot.agenda || [], speakers: snapshot.speakers || [], votes: snapshot.votes || [],
    attendance: snapshot.attendance || [], wishes_to_speak: snapshot.wishes_to_speak || [],
    consent_candidates: snapshot.consent_candidates || [],
    quorum: snapshot.quorum || { present: 0, total_members: 0, required: 0, reached: false },
  };
}

function render(raw) {
  const snapshot = normalise(raw);
  previous = state;
  state = snapshot;
  root.dataset.status = snapshot.status;
  renderStatus(snapshot);
  renderAgenda(snapshot);
  renderSpeakers(snapshot);
  renderOpenVote(snapshot);
  renderVotes(snapshot);
  renderPresentation(snapshot);
  renderAttendance(snapshot);
  announceChanges(previous, snapshot);
}

// --- acts ----------------------------------------------------------------------------------------

function listNode(lines) {
  const ul = el("ul", {});
  lines.forEach((line) => ul.append(el("li", {}, line)));
  return ul;
}

const actions = {
  async checkin() {
    const answer = await act("POST", `/meetings/${meetingId}/checkin`);
    localStorage.setItem(`receipt:checkin:${meetingId}`, JSON.stringify(answer.receipt));
    announce(t("You are checked in"));
  },
  async start() {
    const q = state.quorum;
    const ok = await confirmAction({ title: t("Open the session?"), confirmLabel: t("Open the session"),
      body: `${q.present}/${q.total_members} ${t("members present; quorum")} ${q.required}: ${q.reached ? t("Quorum reached") : t("No quorum")}.` });
    if (ok) act("POST", `/meetings/${meetingId}/session/start`);
  },
  async close() {
    const open = [];
    if (state.votes.some((v) => v.status === "open")) open.push(t("a vote is open (close it first)"));
    const waiting = state.speakers.filter((sp) => sp.status === "requested").length;
    if (waiting) open.push(`${t("Closing ends")} ${waiting} ${t("requests to speak not yet given the floor")}`);
    const noConclusion = state.agenda.filter((i) => !i.conclusion && !i.adopted_without_discussion).length;
    if (noConclusion) open.push(`${noConclusion} ${t("items without a conclusion")}`);
    const body = el("div", {});
    body.append(el("p", {}, t("After closing, nobody can check in, speak or vote. This cannot be undone.")));
    if (open.length) { body.append(el("p", {}, t("Still open:")), listNode(open)); }
    const ok = await confirmAction({ title: t("Close the session?"), body, confirmLabel: t("Close the session"), danger: true });
    if (ok) act("POST", `/meetings/${meetingId}/session/close`);
  },
  async consent() {
    // the server's preview is exactly what adoption will adopt; a block changed meanwhile is refused (409)
    let preview;
    try { preview = await apiCall("GET", `/meetings/${meetingId}/consent-block`); } catch (e) { showError(e); return; }
    const body = el("div", {});
    if (preview.items.length) {
      body.append(el("p", {}, t("These items will be adopted without discussion:")),
        listNode(preview.items.map((i) => `${i.position}. ${i.title}`)));
    } else body.append(el("p", {}, t("No item can be adopted without discussion.")));
    const ok = await confirmAction({ title: t("Adopt the consent block?"), body, confirmLabel: t("Adopt these items"), danger: true });
    if (ok && preview.items.length) act("POST", `/meetings/${meetingId}/consent-block`, { agenda_item_ids: preview.agenda_item_ids });
  },
  speak() { act("POST", `/meetings/${meetingId}/speakers`); },
  withdraw() {
    const mine = state.speakers.find((sp) => sp.user_id === userId && sp.status === "requested");
    if (mine) act("DELETE", `/meetings/${meetingId}/speakers/${mine.id}`);
  },
  "finish-speaker"() {
    const granted = state.speakers.find((sp) => sp.status === "granted");
    if (granted) act("POST", `/meetings/${meetingId}/speakers/${granted.id}/finish`);
  },
  "finish-own"() { actions["finish-speaker"](); },
  async "close-vote"() {
    const vote = state.votes.find((v) => v.status === "open");
    if (!vote) return;
    const body = el("div", {});
    body.append(el("p", { class: "dialog-figure" }, `${vote.cast}/${vote.entitled} ${t("have voted")}`));
    body.append(el("p", {}, vote.cast >= vote.entitled ? t("Everyone entitled has voted.")
      : `${vote.entitled - vote.cast} ${t("entitled members have not voted yet.")}`));
    if (canVote && !myChoices[vote.id] && vote.cast < vote.entitled) body.append(el("p", {}, t("You yourself have not voted yet.")));
    body.append(el("p", {}, t("The result is fixed and counted against all members. This cannot be undone.")));
    const ok = await confirmAction({ title: t("Close the vote?"), body, confirmLabel: t("Close the vote"), danger: true });
    if (ok) act("POST", `/votes/${vote.id}/close`);
  },
  "retry-vote"() {
    const node = document.getElementById("vote-error");
    if (node.dataset.retryChoice) castVote(node.dataset.retryChoice);
  },
};

root.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action], [data-choice]");
  if (!button || !root.contains(button)) return;
  if (button.matches("button.choice") && button.closest("#vote-live")) { castVote(button.dataset.choice); return; }
  const action = actions[button.dataset.action];
  if (action) Promise.resolve(action()).catch(() => {});
});

const voteForm = document.getElementById("vote-form");
if (voteForm) voteForm.addEventListener("submit", (event) => {
  event.preventDefault();
  act("POST", `/meetings/${meetingId}/votes`, {
    question: voteForm.question.value, secret: voteForm.kind.value === "secret",
    agenda_item_id: state ? state.current_item_id : null,
  }).then(() => voteForm.reset()).catch(() => {});
});
const conclusionForm = document.getElementById("conclusion-form");
if (conclusionForm) conclusionForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state || !state.current_item_id) return;
  act("PUT", `/meetings/${meetingId}/agenda/${state.current_item_id}/conclusion`, { text: conclusionForm.text.value })
    .then(() => announce(t("The conclusion was saved"))).catch(() => {});
});
const displayForm = document.getElementById("display-form");
if (displayForm) {
  displayForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await act("POST", `/meetings/${meetingId}/displays`, { name: displayForm.name.value }).catch(() => null);
    if (!answer) return;
    const box = document.getElementById("display-issued");
    const link = `${window.location.origin}/hall#token=${answer.token}`;
    box.replaceChildren(el("span", {}, t("Give this link to the screen; it is shown only once:")), el("br"),
      el("code", { class: "token-link" }, link));
    box.hidden = false;
    loadDisplays();
  });
  loadDisplays();
}

const connection = connect({ meetingId, onState: render, onEvent: () => {}, syncNode: document.getElementById("sync-state") });
startTimers(timers);
