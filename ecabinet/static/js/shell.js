import { onBackOnline } from "./ui.js";

// The top bar on a phone: the menu button opens and closes the navigation (without JavaScript the
// links simply stay visible, wrapped under the brand).
const toggle = document.querySelector(".menu-toggle");
const nav = document.getElementById("topnav");
if (toggle && nav) {
  document.documentElement.classList.add("has-menu");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && nav.classList.contains("open")) {
      toggle.setAttribute("aria-expanded", "false");
      nav.classList.remove("open");
      toggle.focus();
    }
  });
}

// A datetime-local or date field draws the browser's own format (mm/dd/yyyy and AM/PM in an American
// browser); the hint says the time is Hà Nội time and the choice is echoed beneath it as dd/mm/yyyy HH:mm.
const strings = {};
document.querySelectorAll('script[type="application/json"][data-i18n]').forEach((node) => Object.assign(strings, JSON.parse(node.textContent || "{}")));
document.querySelectorAll('input[type="datetime-local"], input[type="date"]').forEach((input, index) => {
  const echo = document.createElement("span");
  echo.className = "dt-echo";
  echo.id = `dt-echo-${index}`;
  echo.setAttribute("aria-live", "polite");
  (input.closest("label") || input).after(echo);
  input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), echo.id].filter(Boolean).join(" "));
  const update = () => {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(input.value);
    const day = m ? `${m[3]}/${m[2]}/${m[1]}` : "";
    const text = m && m[4] ? strings.chosen_time : strings.chosen_date;
    echo.textContent = m ? (text || "%(when)s").replace("%(when)s", m[4] ? `${day} ${m[4]}:${m[5]}` : day) : "";
    echo.hidden = !m;
  };
  input.addEventListener("input", update);
  input.addEventListener("change", update);
  update();
});

// The installable app and its offline briefcase: the service worker keeps the shell; on each page
// while online the briefcase meets the server (deleted when wiped or logged out, notes written offline
// sent); logging out deletes it at once.
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
const loggedIn = Boolean(document.querySelector('meta[name="ecabinet-user"]'));
const meetServer = () => import("./briefcase.js").then((briefcase) => briefcase.contact({ loggedIn })).catch(() => {});
if (window.indexedDB) {
  if (navigator.onLine) meetServer();
  onBackOnline(meetServer);
}
document.querySelectorAll('form[data-logout]').forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (window.indexedDB) await import("./briefcase.js").then((briefcase) => briefcase.wipe()).catch(() => {});
    form.submit();
  }, { once: true });
});
