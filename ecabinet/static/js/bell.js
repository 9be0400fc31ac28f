// The top bar's bell: the unread count, kept live over the person's own event stream (shared with
// the rest of the page, socket.js); a new notification is also announced to screen readers (role=status).
import { followUserStream } from "./socket.js";
import { announce } from "./ui.js";

export function startBell(bell) {
  const count = bell.querySelector(".bell-count");
  const some = bell.dataset.labelSome || "%(n)s";
  const none = bell.dataset.labelNone || "";
  function show(unread) {
    count.textContent = String(unread);
    count.hidden = unread === 0;
    const label = unread === 0 ? none : some.replace("%(n)s", String(unread));
    bell.setAttribute("aria-label", label);
    return label;
  }
  followUserStream({
    // the first join starts from now: the count is read once more then, so that a notification made
    // between the page being drawn and the join is counted too; later joins replay what was missed
    async onJoined({ first }) {
      if (first) {
        const response = await fetch("/api/v1/me/notifications?unread=true", { credentials: "same-origin" });
        if (response.ok) show((await response.json()).unread);
      }
      bell.dataset.live = "true";
    },
    onLeft() { delete bell.dataset.live; },
    onEvent(event) {
      if (event.type !== "notification.created" && event.type !== "notification.read") return;
      const label = show(event.data.unread);
      if (event.type === "notification.created") announce(label);
    },
  });
}

const bell = document.getElementById("bell");
if (bell && window.io) startBell(bell);
