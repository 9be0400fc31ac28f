// The offline briefcase: a member's own stamped dossiers, notes and agendas in IndexedDB, each blob
// encrypted with AES-256-GCM (WebCrypto) under a key the server hands to the current login. The key
// lives in this tab's sessionStorage only: without the server's consent (a live login, no wipe) the
// blobs on the device are ciphertext. Every blob is bound to its slot (key, store, id) as GCM's
// additional data, so one cannot be swapped for another.
import { apiCall } from "./ui.js";

const DB_NAME = "ecabinet-briefcase";
const STORES = ["meta", "meetings", "documents", "queue"];
const KEY_SLOT = "ecabinet:briefcase-key";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      STORES.forEach((name) => request.result.createObjectStore(name, name === "queue" ? { autoIncrement: true } : {}));
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(store, mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const result = work(tx.objectStore(store));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  } finally { db.close(); }
}
const getRow = (store, key) => run(store, "readonly", (s) => s.get(key));
const putRow = (store, key, value) => run(store, "readwrite", (s) => (store === "queue" ? s.add(value) : s.put(value, key)));
const deleteRow = (store, key) => run(store, "readwrite", (s) => s.delete(key));
const allKeys = (store) => run(store, "readonly", (s) => s.getAllKeys());

// --- the key ------------------------------------------------------------------------------------

function b64(bytes) { return btoa(String.fromCharCode(...new Uint8Array(bytes))); }
function unb64(text) { return Uint8Array.from(atob(text), (c) => c.charCodeAt(0)); }

let cryptoKey = null;
async function sessionKey() {
  if (cryptoKey) return cryptoKey;
  const kept = JSON.parse(sessionStorage.getItem(KEY_SLOT) || "null");
  const device = await getRow("meta", "device");
  if (!kept || !device || kept.key_id !== device.key_id) return null;
  cryptoKey = { id: kept.key_id, key: await crypto.subtle.importKey("raw", unb64(kept.key), "AES-GCM", false, ["encrypt", "decrypt"]) };
  return cryptoKey;
}

/** Ask the server for this login's key; a different key than the blobs were made with wipes them first. */
async function fetchKey() {
  const answer = await apiCall("POST", "/briefcase/key", {});
  const device = await getRow("meta", "device");
  if (device && device.key_id !== answer.key_id) await wipe();
  await putRow("meta", "device", { key_id: answer.key_id });
  sessionStorage.setItem(KEY_SLOT, JSON.stringify({ key_id: answer.key_id, key: answer.key }));
  cryptoKey = null;
  return sessionKey();
}

async function seal(store, id, value) {
  const { id: keyId, key } = await sessionKey();
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = value instanceof ArrayBuffer ? value : encoder.encode(JSON.stringify(value));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(`${keyId}|${store}|${id}`) }, key, plain);
  return { iv, data };
}

async function open(store, id, row, { bytes = false } = {}) {
  const unlocked = await sessionKey();
  if (!row || !unlocked) return null;
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: row.iv, additionalData: encoder.encode(`${unlocked.id}|${store}|${id}`) },
    unlocked.key, row.data);
  return bytes ? plain : JSON.parse(decoder.decode(plain));
}

// --- what the pages use -------------------------------------------------------------------------

/** Delete every copy, note and queued note, and forget the key. */
export async function wipe() {
  cryptoKey = null;
  sessionStorage.removeItem(KEY_SLOT);
  await Promise.all(STORES.map((store) => run(store, "readwrite", (s) => s.clear())));
}

/** Whether this browser holds anything at all (readable or not). */
export async function present() { return Boolean(await getRow("meta", "device")); }

/** Whether the copies can be read now (this tab holds the login's key). */
export async function unlocked() { return Boolean(await sessionKey()); }

/** The ids of the meetings held offline. */
export async function meetingIds() { return (await allKeys("meetings")).map(Number); }

/** A held meeting's agenda ({meeting, agenda, taken_at}), or null. */
export async function meeting(id) { return open("meetings", id, await getRow("meetings", Number(id))); }

/** The briefcase's copy of a document: {bytes, meetingId, title, notes} or null when it holds none. */
export async function documentCopy(id) {
  const row = await getRow("documents", Number(id));
  if (!row) return null;
  const info = await open("documents", `${id}:info`, row.info);
  const bytes = await open("documents", id, row.pdf, { bytes: true });
  return info && bytes ? { ...info, bytes } : null;
}

/** Take a meeting offline: its agenda, the member's stamped copy of each dossier, their notes. */
export async function take(meetingId, onProgress = () => {}) {
  const unlockedKey = (await sessionKey()) || (await fetchKey());
  const answer = await apiCall("POST", `/briefcase/meetings/${meetingId}`, { key_id: unlockedKey.id });
  const documents = answer.agenda.flatMap((item) => item.documents);
  let done = 0;
  for (const doc of documents) {
    const response = await fetch(`/api/v1/documents/${doc.id}/content`, { credentials: "same-origin" });
    if (!response.ok) throw { code: String(response.status), message: response.statusText };
    const pdf = await response.arrayBuffer();
    const notes = Object.fromEntries(doc.notes.map((n) => [n.page, n.text]));
    await putRow("documents", doc.id, {
      meeting_id: meetingId,
      pdf: await seal("documents", doc.id, pdf),
      info: await seal("documents", `${doc.id}:info`, { meetingId, title: doc.title, notes }),
    });
    done += 1;
    onProgress(done, documents.length);
  }
  await putRow("meetings", meetingId, await seal("meetings", meetingId, answer));
}

/** Remove a meeting's copies from this browser (and tell the server when it can be reached). */
export async function drop(meetingId, { tellServer = true } = {}) {
  const device = await getRow("meta", "device");
  if (tellServer && device) {
    await apiCall("DELETE", `/briefcase/meetings/${meetingId}?key_id=${device.key_id}`).catch(() => {});
  }
  await deleteRow("meetings", Number(meetingId));
  const rows = await run("documents", "readonly", (s) => s.getAll());
  const keys = await allKeys("documents");
  await Promise.all(keys.filter((key, i) => rows[i].meeting_id === Number(meetingId)).map((key) => deleteRow("documents", key)));
}

/** Keep the briefcase's copy of a note as the member last wrote it (nothing when it holds no such document). */
export async function rememberNote(documentId, page, text) {
  const row = await getRow("documents", Number(documentId));
  const info = row && (await open("documents", `${documentId}:info`, row.info));
  if (!info) return false;
  info.notes[page] = text;
  row.info = await seal("documents", `${documentId}:info`, info);
  await putRow("documents", Number(documentId), row);
  return true;
}

/** Keep a note written offline: shown from the briefcase at once, sent to the server when back online. */
export async function queueNote(documentId, page, text) {
  if (!(await rememberNote(documentId, page, text))) return false;
  const stamp = `${documentId}:${page}:${Date.now()}`;
  await putRow("queue", null, { stamp, note: await seal("queue", stamp, { documentId, page, text }) });
  return true;
}

/** Send the notes written offline, oldest first; a note the server refuses for good is dropped. */
export async function flush() {
  if (!(await sessionKey())) return 0;
  const rows = await run("queue", "readonly", (s) => s.getAll());
  const keys = await allKeys("queue");
  let sent = 0;
  for (let i = 0; i < rows.length; i += 1) {
    const note = await open("queue", rows[i].stamp, rows[i].note);
    try {
      await apiCall("PUT", `/documents/${note.documentId}/notes`, { page: note.page, text: note.text });
      sent += 1;
    } catch (error) {
      if (error.code === "offline" || error.code === "not_authenticated" || error.code === "csrf_failed") return sent;
    }
    await deleteRow("queue", keys[i]);
  }
  return sent;
}

/**
 * The contact with the server on every page while online: a briefcase the server says has ended (wiped,
 * logged out) is deleted even before anyone logs in; a logged-in member's key is fetched again, the
 * meetings no longer allowed (archived, the member removed) are deleted, and queued notes are sent.
 */
export async function contact({ loggedIn }) {
  const device = await getRow("meta", "device");
  if (!device) return;
  const status = await fetch(`/api/v1/briefcase/devices/${device.key_id}/status`).then((r) => r.json()).catch(() => null);
  if (!status) return;
  if (status.state !== "live") { await wipe(); return; }
  if (!loggedIn) return;
  try {
    // asked on every contact: it hands the device on from a login that ran out to this one
    const key = await fetchKey();
    const held = await meetingIds();
    const answer = await apiCall("POST", "/briefcase/sync", { key_id: key.id, meeting_ids: held });
    await Promise.all(answer.removed.map((id) => drop(id, { tellServer: false })));
    await flush();
  } catch (error) {
    if (error.code === "briefcase_wiped" || error.code === "briefcase_ended") await wipe();
  }
}
