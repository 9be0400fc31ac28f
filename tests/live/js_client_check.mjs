// The official JavaScript socket.io-client (node) against a real `serve` process.
// Driven by tests/live/test_js_client.py: the configuration comes as JSON in argv[2]; the chair's
// commands go over HTTP with fetch; one JSON report is printed on stdout for pytest to check.
import { io } from "socket.io-client";

const config = JSON.parse(process.argv[2]);
const { url, meetingId, itemIds, tokens } = config;
const TIMEOUT_MS = 10000;

function socketFor(auth) {
  return io(url, {
    auth,
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    extraHeaders: { Origin: url },
  });
}

function until(predicate, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > TIMEOUT_MS) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 10);
  });
}

// a connection that must be refused: resolves with the refusal's message
function refused(auth) {
  return new Promise((resolve, reject) => {
    const socket = socketFor(auth);
    socket.on("connect", () => {
      socket.disconnect();
      reject(new Error(`connection with ${JSON.stringify(auth)} was accepted`));
    });
    socket.on("connect_error", (error) => {
      socket.close();
      resolve({ message: error.message, data: error.data ?? null });
    });
  });
}

// A tablet as the real page behaves: applies events strictly in order, counts duplicates, and on a
// gap or a reconnect joins again with the last seq it applied.
class Tablet {
  constructor(name) {
    this.name = name;
    this.lastSeq = 0;
    this.applied = [];
    this.received = [];
    this.duplicates = 0;
    this.gaps = 0;
    this.acks = [];
    this.socket = socketFor({ token: tokens[name] });
    this.socket.on("connect", () => this.join());
    this.socket.on("event", (event) => this.onEvent(event));
  }

  join() {
    this.socket.emit("join", { meeting_id: meetingId, last_seq: this.lastSeq }, (ack) => this.acks.push(ack));
  }

  onEvent(event) {
    this.received.push(event);
    if (event.seq <= this.lastSeq) {
      this.duplicates += 1;
    } else if (event.seq > this.lastSeq + 1) {
      this.gaps += 1;
      this.join();
    } else {
      this.lastSeq = event.seq;
      this.applied.push(event.seq);
    }
  }

  async joined(count = 1) {
    await until(() => this.acks.length >= count, `${this.name}'s join ack`);
    return this.acks[count - 1];
  }

  reachedSeq(seq) {
    return until(() => this.lastSeq >= seq, `${this.name} reaching seq ${seq}`);
  }

  report() {
    return {
      applied: this.applied,
      duplicates: this.duplicates,
      gaps: this.gaps,
      acks: this.acks,
      events: this.received,
    };
  }
}

async function http(name, method, path, body) {
  const response = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${tokens[name]}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) {
    throw new Error(`${method} ${path} as ${name}: ${response.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

async function main() {
  const report = { refusals: {} };
  report.refusals.none = await refused(undefined);
  report.refusals.forged = await refused({ token: "forged-token" });
  report.refusals.empty = await refused({ token: "" });

  const outsider = new Tablet("outsider");
  report.outsider_ack = await outsider.joined();

  const steady = new Tablet("member_a");
  const flaky = new Tablet("member_b");
  report.first_acks = { member_a: await steady.joined(), member_b: await flaky.joined() };

  await http("chair", "POST", `/meetings/${meetingId}/session/start`);
  for (const itemId of itemIds) {
    await http("chair", "POST", `/meetings/${meetingId}/agenda/${itemId}/activate`);
  }
  await flaky.reachedSeq(3);

  // the tablet drops off the Wi-Fi; the session goes on; it comes back with its last seq
  flaky.socket.disconnect();
  for (let round = 0; round < 3; round += 1) {
    for (const itemId of itemIds) {
      await http("chair", "POST", `/meetings/${meetingId}/agenda/${itemId}/activate`);
    }
  }
  report.missed_while_away = flaky.lastSeq;
  flaky.socket.connect();
  report.rejoin_ack = await flaky.joined(2);
  await http("chair", "POST", `/meetings/${meetingId}/agenda/${itemIds[0]}/activate`);

  // a secret vote: the payloads every tablet receives carry counts only
  const vote = await http("chair", "POST", `/meetings/${meetingId}/votes`, { question: "Bỏ phiếu kín", secret: true });
  await http("member_a", "POST", `/votes/${vote.id}/cast`, { choice: "agree" });
  await http("member_b", "POST", `/votes/${vote.id}/cast`, { choice: "disagree" });
  await http("chair", "POST", `/votes/${vote.id}/cast`, { choice: "agree" });
  report.vote_result = await http("chair", "POST", `/votes/${vote.id}/close`);
  const finalSeq = 10 + 1 + 3 + 1; // start + 2 + 6 + 1 activations, vote opened, 3 casts, vote closed
  await Promise.all([steady.reachedSeq(finalSeq), flaky.reachedSeq(finalSeq)]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  report.final_seq = finalSeq;
  report.tablets = { member_a: steady.report(), member_b: flaky.report() };
  report.outsider_events = outsider.received.length;
  for (const tablet of [outsider, steady, flaky]) {
    tablet.socket.disconnect();
  }
  process.stdout.write(JSON.stringify(report));
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
