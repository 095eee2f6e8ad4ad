// The console's router: #/hosts, #/hosts/UUID, #/enroll, #/tokens,
// #/audit.  Each view fills <main>; focus moves to its heading so
// keyboard and screen-reader users land on what changed.
import { hostsView, hostView } from "./hosts.js";
import { enrollView, tokensView } from "./enroll.js";
import { auditView } from "./audit.js";

const views = { hosts: hostsView, enroll: enrollView, tokens: tokensView, audit: auditView };

async function route() {
  const [, name = "hosts", arg] = /^#\/([a-z]+)(?:\/(.+))?$/.exec(location.hash) || [];
  const root = document.getElementById("view");
  const key = views[name] ? name : "hosts";
  for (const a of document.querySelectorAll("[data-nav]"))
    if (a.dataset.nav === key) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  if (key === "hosts" && arg) await hostView(root, decodeURIComponent(arg));
  else views[key](root);
  document.title = `${key[0].toUpperCase()}${key.slice(1)} · swarmctl console`;
  const h = root.querySelector("h2");
  if (h && document.activeElement !== document.body) {
    h.tabIndex = -1;
    h.focus();
  }
}

window.addEventListener("hashchange", route);
route();
