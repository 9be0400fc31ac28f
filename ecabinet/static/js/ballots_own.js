// Signing with one's own token: the unsigned slip for these answers, then the signed file uploaded.
import { announce, t } from "./ui.js";

const form = document.getElementById("own-signature");
const ballotId = Number(document.getElementById("ballot").dataset.ballotId);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const status = document.getElementById("own-status");
const say = (text) => { status.textContent = text; announce(text); };

function answers() {
  const out = [...form.querySelectorAll("fieldset[data-question-id]")].map((fs) => ({
    question_id: Number(fs.dataset.questionId),
    choice: (fs.querySelector("input[type=radio]:checked") || {}).value,
    comment: fs.querySelector("textarea").value.trim(),
  }));
  return out.every((a) => a.choice) ? out : null;
}

if (form) {
  document.getElementById("download-slip").addEventListener("click", async () => {
    const chosen = answers();
    if (!chosen) { say(t("answer_all")); return; }
    const res = await fetch(`/api/v1/ballots/${ballotId}/slip`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify({ answers: chosen }),
    });
    if (!res.ok) { const e = await res.json().catch(() => ({})); say((e.error || {}).message || String(res.status)); return; }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = `phieu-${ballotId}-chua-ky.pdf`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  // the native file input speaks the browser's language; a labelled button and the chosen name speak ours
  const fileInput = form.elements.file;
  document.getElementById("choose-file").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    if (file) document.getElementById("file-name").textContent = t("chosen_file").replace("%(name)s", file.name);
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) { say(t("choose_file")); return; }
    const body = new FormData();
    body.append("file", file);
    const res = await fetch(`/api/v1/ballots/${ballotId}/responses/upload`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body,
    });
    if (res.ok) { say(t("recorded")); window.location.href = `/ballots/${ballotId}`; return; }
    const e = await res.json().catch(() => ({}));
    say((e.error || {}).message || String(res.status));
  });
}
