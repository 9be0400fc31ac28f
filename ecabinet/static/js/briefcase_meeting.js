// The meeting page's briefcase card: the member takes the meeting offline (or removes it from this
// device); the secretariat sees which devices hold it and can wipe one remotely.
import * as briefcase from "./briefcase.js";
import { announce, apiCall, confirmAction, el, formatDateTime, syncList, t } from "./ui.js";

const card = document.getElementById("briefcase");
const meetingId = card ? Number(card.dataset.meetingId) : 0;
const state = document.getElementById("briefcase-state");
const take = document.getElementById("briefcase-take");
const drop = document.getElementById("briefcase-drop");
const openLink = document.getElementById("briefcase-open");

async function showHeld() {
  const agenda = await briefcase.meeting(meetingId).catch(() => null);
  take.hidden = Boolean(agenda);
  drop.hidden = openLink.hidden = !agenda;
  openLink.href = `/briefcase?meeting=${meetingId}`;
  if (agenda) state.textContent = t("briefcase_taken").replace("%(when)s", formatDateTime(agenda.taken_at));
}

if (card && card.dataset.mayTake && window.indexedDB && window.crypto?.subtle) {
  take.addEventListener("click", async () => {
    take.disabled = true;
    state.textContent = t("briefcase_taking");
    try {
      await briefcase.take(meetingId, (done, total) => { state.textContent = `${t("briefcase_taking")} ${done}/${total}`; });
      await showHeld();
      announce(state.textContent);
    } catch (error) {
      await briefcase.drop(meetingId, { tellServer: false }).catch(() => {});
      state.textContent = error.message || String(error);
    } finally { take.disabled = false; }
  });
  drop.addEventListener("click", async () => {
    await briefcase.drop(meetingId);
    take.hidden = false;
    drop.hidden = openLink.hidden = true;
    state.textContent = t("briefcase_dropped");
    announce(state.textContent);
    take.focus();
  });
  showHeld();
} else if (take) {
  take.hidden = true;
}

// --- the secretariat: devices holding the meeting, remote wipe -----------------------------------

const holders = document.getElementById("briefcase-holders");

async function loadHolders() {
  const answer = await apiCall("GET", `/meetings/${meetingId}/briefcases`);
  if (!answer.devices.length) {
    holders.replaceChildren(el("li", { class: "muted" }, t("briefcase_none")));
    return;
  }
  if (holders.querySelector("li.muted")) holders.replaceChildren();
  syncList(holders, answer.devices, (d) => d.id, (d) => {
    const li = el("li", { "data-device-id": d.id });
    li.append(el("span", { class: "person" }), el("span", { class: "badge" }));
    const wipe = el("button", { type: "button", class: "btn btn-small btn-danger wipe" }, t("briefcase_wipe"));
    wipe.addEventListener("click", () => wipeDevice(d, wipe));
    li.append(wipe);
    return li;
  }, (li, d) => {
    const person = li.querySelector(".person");
    person.replaceChildren(el("strong", {}, d.user.full_name), " ",
      el("small", { class: "muted" }, `${d.device ? `${d.device} · ` : ""}${t("briefcase_taken_at").replace("%(when)s", formatDateTime(d.taken_at))}`));
    li.querySelector(".badge").textContent = t(`briefcase_state_${d.state}`);
    li.querySelector(".badge").className = `badge ${d.state === "live" ? "ok" : "warn"}`;
    li.querySelector(".wipe").hidden = d.state === "wiped";
    li.querySelector(".wipe").setAttribute("aria-label", `${t("briefcase_wipe")}: ${d.user.full_name}`);
  });
}

async function wipeDevice(device, button) {
  const sure = await confirmAction({ title: t("briefcase_wipe_title"), danger: true, confirmLabel: t("briefcase_wipe"),
    body: t("briefcase_wipe_body").replace("%(name)s", device.user.full_name) });
  if (!sure) return;
  try {
    await apiCall("POST", `/briefcase/devices/${device.id}/wipe`);
    announce(t("briefcase_state_wiped"));
  } catch (error) { announce(error.message, { assertive: true }); }
  await loadHolders();
  button.focus();
}

if (holders) loadHolders().catch(() => {});
