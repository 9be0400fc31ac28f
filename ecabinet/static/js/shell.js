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
