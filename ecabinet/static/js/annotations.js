// A reader's private highlights and ink on the viewer's page (after pdf.js's annotation editor): a
// layer over the drawn page, tools in their own toolbar, undo, an eraser, kept per page on the server
// for this reader only. Marks are stored in fractions of the page, so they fit it at any zoom. A mark
// that could not be saved (offline) is kept on the device and sent again; it is never lost silently.
import { announce, apiCall, confirmAction, onBackOnline, t } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
// how near (in screen pixels) the eraser must come to an ink stroke to take it
const ERASE_REACH = 14;

function svg(name, attributes) {
  const node = document.createElementNS(SVG, name);
  Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, String(value)));
  return node;
}

function distanceToSegment(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = dx * dx + dy * dy;
  const along = length ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length)) : 0;
  return Math.hypot(p[0] - (a[0] + along * dx), p[1] - (a[1] + along * dy));
}

/** The annotation layer of one document; `show(page)` after each drawing of the page. */
export function setupAnnotations({ documentId, canvas }) {
  const $ = (id) => document.getElementById(id);
  const layer = $("mark-layer");
  const bar = $("markbar");
  const status = $("mark-status");
  const tools = { highlight: $("mark-highlight"), ink: $("mark-ink"), erase: $("mark-erase") };
  const draftKey = (page) => `ecabinet:marks-draft:${documentId}:${page}`;
  const marks = new Map();
  const undo = new Map();
  let page = 0;
  let tool = null;
  let stroke = null;
  let saving = Promise.resolve();

  const current = () => marks.get(page) || [];
  const size = () => ({ w: parseFloat(canvas.style.width) || canvas.clientWidth, h: parseFloat(canvas.style.height) || canvas.clientHeight });

  function draw() {
    const { w, h } = size();
    layer.setAttribute("viewBox", `0 0 ${w} ${h}`);
    Object.assign(layer.style, { left: `${canvas.offsetLeft}px`, top: `${canvas.offsetTop}px`, width: `${w}px`, height: `${h}px` });
    layer.replaceChildren(...current().map((mark, index) => {
      if (mark.kind === "highlight") {
        return svg("rect", { class: "mark-highlight", "data-index": index, x: mark.x * w, y: mark.y * h, width: mark.w * w, height: mark.h * h });
      }
      return svg("polyline", { class: "mark-ink", "data-index": index, points: mark.points.map(([x, y]) => `${x * w},${y * h}`).join(" ") });
    }));
    layer.dataset.marks = String(current().length);
    $("mark-undo").disabled = !(undo.get(page) || []).length;
    $("mark-clear").disabled = current().length === 0;
  }

  function setStatus(text) { status.textContent = text; }

  async function save(target) {
    const body = { page: target, marks: marks.get(target) || [] };
    localStorage.setItem(draftKey(target), JSON.stringify(body.marks));
    setStatus(t("Saving…"));
    try {
      await apiCall("PUT", `/documents/${documentId}/annotations`, body);
      if (localStorage.getItem(draftKey(target)) === JSON.stringify(body.marks)) localStorage.removeItem(draftKey(target));
      setStatus(t("Saved"));
    } catch (error) {
      setStatus(error.code === "offline" ? t("Not saved: this device is offline. Kept here and sent again.") : error.message);
    }
  }
  /** Change the page's marks (undoable) and save them, one save after another. */
  function change(target, next) {
    const history = undo.get(target) || [];
    history.push(marks.get(target) || []);
    undo.set(target, history.slice(-50));
    marks.set(target, next);
    draw();
    saving = saving.then(() => save(target));
  }

  function point(event) {
    const rect = layer.getBoundingClientRect();
    const clamp = (v) => Math.max(0, Math.min(1, v));
    return [clamp((event.clientX - rect.left) / rect.width), clamp((event.clientY - rect.top) / rect.height)];
  }

  function markAt(p) {
    const { w, h } = size();
    const px = [p[0] * w, p[1] * h];
    const list = current();
    for (let index = list.length - 1; index >= 0; index -= 1) {
      const mark = list[index];
      if (mark.kind === "highlight") {
        if (p[0] >= mark.x && p[0] <= mark.x + mark.w && p[1] >= mark.y && p[1] <= mark.y + mark.h) return index;
      } else {
        const pts = mark.points.map(([x, y]) => [x * w, y * h]);
        for (let i = 1; i < pts.length; i += 1) if (distanceToSegment(px, pts[i - 1], pts[i]) <= ERASE_REACH) return index;
      }
    }
    return -1;
  }

  function erase(event) {
    const index = markAt(point(event));
    if (index >= 0) change(page, current().filter((_, i) => i !== index));
  }

  layer.addEventListener("pointerdown", (event) => {
    if (!tool || !event.isPrimary) return;
    event.preventDefault();
    layer.setPointerCapture(event.pointerId);
    const start = point(event);
    if (tool === "erase") { stroke = { erase: true }; erase(event); return; }
    const node = tool === "ink" ? svg("polyline", { class: "mark-ink drawing", points: "" }) : svg("rect", { class: "mark-highlight drawing" });
    layer.append(node);
    stroke = { start, points: [start], node };
  });
  layer.addEventListener("pointermove", (event) => {
    if (!stroke || !event.isPrimary) return;
    if (stroke.erase) { erase(event); return; }
    const p = point(event);
    const { w, h } = size();
    if (tool === "ink") {
      stroke.points.push(p);
      stroke.node.setAttribute("points", stroke.points.map(([x, y]) => `${x * w},${y * h}`).join(" "));
    } else {
      stroke.points = [stroke.start, p];
      const [[x1, y1], [x2, y2]] = stroke.points;
      Object.entries({ x: Math.min(x1, x2) * w, y: Math.min(y1, y2) * h, width: Math.abs(x2 - x1) * w, height: Math.abs(y2 - y1) * h })
        .forEach(([key, value]) => stroke.node.setAttribute(key, String(value)));
    }
  });
  function finish(event) {
    if (!stroke || !event.isPrimary) return;
    const done = stroke;
    stroke = null;
    if (done.erase) return;
    done.node.remove();
    if (tool === "ink" && done.points.length >= 2) {
      change(page, [...current(), { kind: "ink", points: done.points.map(([x, y]) => [Number(x.toFixed(4)), Number(y.toFixed(4))]) }]);
    } else if (tool === "highlight" && done.points.length === 2) {
      const [[x1, y1], [x2, y2]] = done.points;
      const box = { x: Math.min(x1, x2), y: Math.min(y1, y2), w: Math.abs(x2 - x1), h: Math.abs(y2 - y1) };
      if (box.w > 0.005 && box.h > 0.003) change(page, [...current(), { kind: "highlight", ...box }]);
    }
  }
  layer.addEventListener("pointerup", finish);
  layer.addEventListener("pointercancel", (event) => { if (stroke && stroke.node) stroke.node.remove(); stroke = null; finish(event); });
  // while a tool is in hand a stroke draws: it never turns the page (the viewer pages on a swipe)
  ["touchstart", "touchend"].forEach((name) => layer.addEventListener(name, (event) => { if (tool) event.stopPropagation(); }, { passive: true }));

  function choose(name) {
    tool = tool === name ? null : name;
    Object.entries(tools).forEach(([key, button]) => button.setAttribute("aria-pressed", String(tool === key)));
    layer.classList.toggle("active", Boolean(tool));
    layer.dataset.tool = tool || "";
  }
  Object.entries(tools).forEach(([name, button]) => button.addEventListener("click", () => choose(name)));
  $("mark-undo").addEventListener("click", () => {
    const history = undo.get(page) || [];
    if (!history.length) return;
    marks.set(page, history.pop());
    draw();
    saving = saving.then(() => save(page));
    announce(t("Undone"));
  });
  $("mark-clear").addEventListener("click", async () => {
    const ok = await confirmAction({ title: t("Remove your highlights and ink from this page?"),
      body: t("Only your own marks on this page are removed. Undo brings them back."), confirmLabel: t("Remove the marks"), danger: true });
    if (ok) change(page, []);
  });
  $("toggle-marks").addEventListener("click", () => {
    const open = bar.hidden;
    bar.hidden = !open;
    $("toggle-marks").setAttribute("aria-pressed", String(open));
    if (!open && tool) choose(tool);
    if (open) tools.highlight.focus();
  });

  // a mark kept on the device when it could not be saved goes again when the device is back online
  function resendDrafts() {
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(`ecabinet:marks-draft:${documentId}:`)) continue;
      const target = Number(key.split(":").pop());
      marks.set(target, JSON.parse(localStorage.getItem(key) || "[]"));
      saving = saving.then(() => save(target));
    }
    if (page) draw();
  }
  onBackOnline(resendDrafts);

  const loaded = apiCall("GET", `/documents/${documentId}/annotations`).then((answer) => {
    answer.annotations.forEach((row) => marks.set(row.page, row.marks));
    resendDrafts();
  }).catch(() => resendDrafts());

  return {
    /** Draw this page's marks over the page just drawn. */
    async show(number) {
      if (number !== page && stroke) stroke = null;
      page = number;
      await loaded;
      if (page === number) draw();
    },
  };
}
