// The minutes page: draw up from the record, save the narrative as a new version, sign with the PIN or
// upload the minutes signed with one's own token.
import { announce, askPin, confirmAction, t } from "./ui.js";

const call = window.ecabinetApi.call;
const root = document.getElementById("minutes-page");
const meetingId = root && Number(root.dataset.meetingId);
const error = document.getElementById("minutes-error");
function fail(e) { error.textContent = e.message; error.hidden = false; announce(e.message, { assertive: true }); }

const generate = document.getElementById("generate");
if (generate) generate.addEventListener("click", async () => {
  if (document.getElementById("narrative-form")
      && !(await confirmAction({ title: t("generate_title"), body: t("generate_body") }))) return;
  generate.disabled = true;
  try { await call("POST", `/meetings/${meetingId}/minutes`); window.location.reload(); }
  catch (e) { generate.disabled = false; fail(e); }
});

const form = document.getElementById("narrative-form");
if (form) form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await call("PATCH", `/meetings/${meetingId}/minutes`, { narrative: form.elements.narrative.value });
    announce(t("saved"));
    window.location.reload();
  } catch (e) { fail(e); }
});

const sign = document.getElementById("sign");
if (sign) sign.addEventListener("click", async () => {
  // the chair's signature archives the meeting: the dialog says so and its button names that act
  const role = sign.dataset.role;
  const pin = await askPin({ title: t(`sign_title_${role}`), body: t(`sign_body_${role}`),
    confirmLabel: t(`sign_confirm_${role}`) });
  if (!pin) return;
  sign.disabled = true;
  try { await call("POST", `/meetings/${meetingId}/minutes/sign`, { pin }); window.location.reload(); }
  catch (e) { sign.disabled = false; fail(e); }
});

const own = document.getElementById("own-signature");
if (own) {
  // the native file input speaks the browser's language; a labelled button and the chosen name speak ours
  const fileInput = own.elements.file;
  document.getElementById("choose-file").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    if (file) document.getElementById("file-name").textContent = t("chosen_file").replace("%(name)s", file.name);
  });
  own.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = fileInput.files[0];
    if (!file) { fail(new Error(t("choose_file"))); return; }
    // the chair's signed minutes archive the meeting, whichever way they were signed: the same question
    if (own.dataset.role === "chair" && !(await confirmAction({ title: t("sign_title_chair"),
      body: t("sign_body_chair"), confirmLabel: t("upload_confirm_chair"), danger: true }))) return;
    const body = new FormData();
    body.append("file", file);
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const res = await fetch(`/api/v1/meetings/${meetingId}/minutes/sign/upload`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body,
    });
    if (res.ok) { announce(t("signed")); window.location.reload(); return; }
    const e = await res.json().catch(() => ({}));
    fail(new Error((e.error || {}).message || String(res.status)));
  });
}
