// The room's connection: joins the meeting over Socket.IO, applies events strictly in seq order (a
// gap triggers a catch-up join) and fetches the state snapshot after each event. It tells the page
// in words whether it is up to date; the event number stays available for those who ask.
import { pageSocket } from "../socket.js";
import { apiCall, t } from "../ui.js";

export function connect({ meetingId, onState, onEvent, syncNode }) {
  let lastSeq = 0;
  let refreshTimer = null;
  let online = false;

  function showSync(state) {
    if (!syncNode) return;
    syncNode.dataset.state = state;
    const text = syncNode.querySelector(".sync-text");
    const seq = syncNode.querySelector(".sync-seq");
    text.textContent = state === "ok" ? t("Up to date") : state === "offline" ? t("Connection lost, reconnecting") : t("Connecting…");
    // the event number is for support staff, on demand (a tap on the state), not for ministers
    seq.textContent = lastSeq ? `${t("Event no.")} ${lastSeq}` : "";
    seq.hidden = syncNode.dataset.details !== "open";
    if (lastSeq) syncNode.title = seq.textContent;
    syncNode.classList.toggle("ok", state === "ok");
    syncNode.classList.toggle("warn", state === "offline");
  }

  async function refresh() {
    try {
      const snapshot = await apiCall("GET", `/meetings/${meetingId}/live`);
      if (snapshot.seq > lastSeq) lastSeq = snapshot.seq;
      onState(snapshot);
      showSync(online ? "ok" : "offline");
    } catch (error) {
      showSync("offline");
    }
  }
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 40);
  }

  const socket = pageSocket();
  function join() {
    socket.emit("join", { meeting_id: meetingId, last_seq: lastSeq }, (ack) => {
      if (!ack || !ack.ok) { showSync("offline"); return; }
      online = true;
      scheduleRefresh();
    });
  }
  socket.on("connect", join);
  if (socket.connected) join();
  socket.on("disconnect", () => { online = false; showSync("offline"); });
  socket.on("event", (event) => {
    if (event.meeting_id !== meetingId || event.seq <= lastSeq) return;
    if (event.seq > lastSeq + 1) { join(); return; }  // a gap: ask the server for what was missed
    lastSeq = event.seq;
    onEvent(event);
    scheduleRefresh();
  });
  socket.on("removed", () => { socket.disconnect(); window.location.href = "/"; });
  if (syncNode) {
    syncNode.addEventListener("click", () => {
      syncNode.dataset.details = syncNode.dataset.details === "open" ? "" : "open";
      syncNode.querySelector(".sync-seq").hidden = syncNode.dataset.details !== "open";
    });
  }
  showSync("connecting");
  refresh();
  return { refresh: scheduleRefresh, isOnline: () => online };
}
