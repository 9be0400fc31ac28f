// One Socket.IO connection per page, shared by every part of it that follows a stream (the bell, the
// live room, the viewer following the presenter, the secretariat's ballot board): a tablet in the
// live room holds one socket, not one per widget. The person's own stream ({stream: "user"}) is
// joined once for all its followers, its events handed to each in seq order, each once.
let socket = null;

export function pageSocket() {
  if (!socket) socket = window.io({ transports: ["websocket"] });
  return socket;
}

const followers = [];
let userSeq = null;
let joined = false;

function joinUserStream() {
  pageSocket().emit("join", { stream: "user", last_seq: userSeq }, (ack) => {
    if (!ack || !ack.ok) return;
    const first = userSeq === null;
    if (first) userSeq = ack.seq;
    joined = true;
    followers.forEach((follower) => follower.onJoined?.({ first }));
  });
}

/**
 * Follow the person's own stream: `onEvent(event)` for each new event, `onJoined({first})` after each
 * (re)join (first: the stream starts from now, so read once what came before), `onLeft()` when the
 * connection drops.
 */
export function followUserStream(follower) {
  followers.push(follower);
  if (followers.length > 1) {
    if (joined) follower.onJoined?.({ first: true });
    return;
  }
  const io = pageSocket();
  io.on("connect", joinUserStream);
  io.on("disconnect", () => { joined = false; followers.forEach((f) => f.onLeft?.()); });
  io.on("event", (event) => {
    if (event.stream !== "user" || (userSeq !== null && event.seq <= userSeq)) return;
    userSeq = event.seq;
    followers.forEach((f) => f.onEvent?.(event));
  });
  if (io.connected) joinUserStream();
}
