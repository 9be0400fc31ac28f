// The live room on every screen: joins the meeting over Socket.IO, applies events strictly in seq
// order (a gap triggers a catch-up join), and redraws from the server's state snapshot.
(function () {
  "use strict";
  const root = document.getElementById("live");
  if (!root) return;
  const meetingId = Number(root.dataset.meetingId);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const sync = document.getElementById("sync-state");
  const errorBox = document.getElementById("live-error");
  let lastSeq = 0;
  let state = null;
  let refreshTimer = null;

  function api(method, path, body) {
    return fetch("/api/v1" + path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { showError(data.error ? data.error.message : response.statusText); throw data; }
        errorBox.hidden = true;
        return data;
      });
    });
  }
  function showError(message) { errorBox.textContent = message; errorBox.hidden = false; }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function button(label, handler) {
    const node = el("button", { class: "btn", type: "button" }, label);
    node.addEventListener("click", handler);
    return node;
  }

  function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      api("GET", "/meetings/" + meetingId + "/live").then(render);
    }, 50);
  }

  function render(snapshot) {
    state = snapshot;
    const q = snapshot.quorum;
    document.getElementById("quorum-present").textContent = q.present;
    document.getElementById("quorum-total").textContent = q.total_members;
    document.getElementById("quorum-required").textContent = q.required;
    const badge = document.getElementById("quorum-badge");
    badge.textContent = q.reached ? badge.dataset.yes : badge.dataset.no;
    badge.className = "badge " + (q.reached ? "ok" : "warn");
    renderAgenda(snapshot);
    renderSpeakers(snapshot);
    renderVotes(snapshot);
    renderAttendance(snapshot);
  }

  function renderAgenda(snapshot) {
    const list = document.getElementById("agenda");
    list.replaceChildren();
    snapshot.agenda.forEach(function (item) {
      const li = el("li", { "data-item-id": item.id, class: item.id === snapshot.current_item_id ? "current" : "" });
      const text = el("div", {});
      text.append(el("strong", {}, item.position + ". " + item.title), el("small", {}, " " + (item.presenter || "")));
      li.append(text);
      if (item.id === snapshot.current_item_id) li.append(el("span", { class: "badge" }, list.dataset.labelCurrent));
      if (item.adopted_without_discussion) li.append(el("span", { class: "badge ok" }, list.dataset.labelAdopted));
      if (list.dataset.activate && item.id !== snapshot.current_item_id) {
        li.append(button(list.dataset.labelActivate, function () {
          api("POST", "/meetings/" + meetingId + "/agenda/" + item.id + "/activate");
        }));
      }
      list.append(li);
    });
  }

  function renderSpeakers(snapshot) {
    const list = document.getElementById("speakers");
    list.replaceChildren();
    snapshot.speakers.filter(function (s) { return s.status === "requested" || s.status === "granted"; })
      .forEach(function (s) {
        const li = el("li", { "data-speaker-id": s.id, "data-status": s.status });
        li.append(el("span", {}, s.full_name + (s.status === "granted" ? " 🎤" : "")));
        if (list.dataset.grant && s.status === "requested") {
          li.append(button(list.dataset.labelGrant, function () {
            api("POST", "/meetings/" + meetingId + "/speakers/" + s.id + "/grant");
          }));
        }
        if (s.status === "granted" && (list.dataset.grant || s.user_id === Number(root.dataset.userId))) {
          li.append(button(list.dataset.labelFinish, function () {
            api("POST", "/meetings/" + meetingId + "/speakers/" + s.id + "/finish");
          }));
        }
        if (s.status === "requested" && s.user_id === Number(root.dataset.userId)) {
          li.append(button(list.dataset.labelWithdraw, function () {
            api("DELETE", "/meetings/" + meetingId + "/speakers/" + s.id);
          }));
        }
        list.append(li);
      });
  }

  function renderVotes(snapshot) {
    const box = document.getElementById("votes");
    box.replaceChildren();
    snapshot.votes.slice().reverse().forEach(function (vote) {
      const card = el("div", { class: "vote", "data-vote-id": vote.id, "data-status": vote.status });
      card.append(el("p", {}, vote.question + (vote.secret ? " (" + box.dataset.labelSecret + ")" : "")));
      card.append(el("p", { class: "muted" }, vote.cast + " / " + vote.entitled));
      if (vote.status === "open") {
        if (box.dataset.canVote) {
          ["agree", "disagree", "abstain"].forEach(function (choice) {
            const cast = button(box.dataset["label" + choice.charAt(0).toUpperCase() + choice.slice(1)], function () {
              api("POST", "/votes/" + vote.id + "/cast", { choice: choice }).then(function (answer) {
                localStorage.setItem("receipt:vote:" + vote.id, JSON.stringify(answer.receipt));
              });
            });
            cast.dataset.choice = choice;
            card.append(cast);
          });
        }
        if (box.dataset.canClose) card.append(button(box.dataset.labelClose, function () { api("POST", "/votes/" + vote.id + "/close"); }));
      } else if (vote.result) {
        const r = vote.result;
        card.append(el("p", { class: "badge " + (r.passed ? "ok" : "warn") },
          (r.passed ? box.dataset.labelPassed : box.dataset.labelRejected) +
          " — " + r.agree + " / " + r.disagree + " / " + r.abstain + " (" + r.total_members + ")"));
        (vote.names || []).forEach(function (n) { card.append(el("div", { class: "muted" }, n.full_name + ": " + n.choice)); });
      }
      box.append(card);
    });
  }

  function renderAttendance(snapshot) {
    const table = document.getElementById("attendance");
    if (!table) return;
    table.replaceChildren();
    snapshot.attendance.forEach(function (row) {
      const tr = el("tr", { "data-user-id": row.user_id });
      tr.append(el("td", {}, row.full_name), el("td", {}, row.title || ""));
      const cell = el("td", {});
      if (row.present) cell.append(el("span", { class: "badge ok" }, table.dataset.labelPresent));
      else cell.append(button(table.dataset.labelCheckin, function () {
        api("POST", "/meetings/" + meetingId + "/attendance", { user_id: row.user_id, present: true });
      }));
      tr.append(cell);
      table.append(tr);
    });
  }

  const actions = {
    checkin: function () { api("POST", "/meetings/" + meetingId + "/checkin").then(function (answer) {
      localStorage.setItem("receipt:checkin:" + meetingId, JSON.stringify(answer.receipt)); }); },
    start: function () { api("POST", "/meetings/" + meetingId + "/session/start"); },
    close: function () { api("POST", "/meetings/" + meetingId + "/session/close"); },
    consent: function () { api("POST", "/meetings/" + meetingId + "/consent-block"); },
    speak: function () { api("POST", "/meetings/" + meetingId + "/speakers"); },
  };
  root.querySelectorAll("[data-action]").forEach(function (node) {
    node.addEventListener("click", function () { actions[node.dataset.action](); });
  });
  const voteForm = document.getElementById("vote-form");
  if (voteForm) voteForm.addEventListener("submit", function (event) {
    event.preventDefault();
    api("POST", "/meetings/" + meetingId + "/votes", {
      question: voteForm.question.value, secret: voteForm.secret.checked,
      agenda_item_id: state ? state.current_item_id : null,
    }).then(function () { voteForm.reset(); });
  });
  const conclusionForm = document.getElementById("conclusion-form");
  if (conclusionForm) conclusionForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!state || !state.current_item_id) return;
    api("PUT", "/meetings/" + meetingId + "/agenda/" + state.current_item_id + "/conclusion",
      { text: conclusionForm.text.value });
  });

  function showSynced() { sync.textContent = sync.dataset.labelSynced + lastSeq; sync.className = "badge ok"; }

  const socket = io({ transports: ["websocket"] });
  function join() {
    socket.emit("join", { meeting_id: meetingId, last_seq: lastSeq }, function (ack) {
      if (!ack || !ack.ok) { showError(ack && ack.error ? ack.error.message : "join failed"); return; }
      refresh();
    });
  }
  socket.on("connect", join);
  socket.on("disconnect", function () { sync.textContent = sync.dataset.labelOffline; sync.className = "badge warn"; });
  socket.on("event", function (event) {
    if (event.meeting_id !== meetingId || event.seq <= lastSeq) return;
    if (event.seq > lastSeq + 1) { join(); return; }  // a gap: ask the server for what was missed
    lastSeq = event.seq;
    showSynced();
    if (event.type === "presentation.moved") {
      document.dispatchEvent(new CustomEvent("ecabinet:present", { detail: event.data }));
    }
    refresh();
  });
  socket.on("removed", function () { socket.disconnect(); location.href = "/"; });
  api("GET", "/meetings/" + meetingId + "/live").then(function (snapshot) {
    if (lastSeq === 0) { lastSeq = snapshot.seq; showSynced(); }
    render(snapshot);
  });
})();
