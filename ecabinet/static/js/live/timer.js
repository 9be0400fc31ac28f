// The speaker's timer: time left of the speaking time the chair gave, then overtime, counted from
// the server's clock (a tablet's own clock may be off). Ticks once a second for every timer node.
import { formatDuration, serverNow, t } from "../ui.js";

export function tick(node) {
  const granted = Date.parse(node.dataset.grantedAt || "");
  if (Number.isNaN(granted)) { node.textContent = ""; return; }
  const elapsed = Math.floor((serverNow() - granted) / 1000);
  const allotted = Number(node.dataset.allotted || 0);
  if (!allotted) {
    node.textContent = formatDuration(elapsed);
    node.dataset.phase = "open";
    return;
  }
  const left = allotted - elapsed;
  node.dataset.phase = left < 0 ? "over" : left <= 30 ? "ending" : "running";
  node.textContent = left < 0 ? `+${formatDuration(-left)} ${t("over time")}` : `${formatDuration(left)} ${t("left")}`;
}

export function startTimers(nodes) {
  const run = () => nodes.forEach((_, node) => { if (node.isConnected) tick(node); });
  run();
  return setInterval(run, 1000);
}
