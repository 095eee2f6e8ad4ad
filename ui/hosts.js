// Hosts: the list in name order, a page at a time (?limit&after keyset
// paging, so the 10,000th host costs what the first does), filtered by
// status on the server.  The API has no name search: a search loads the
// remaining pages (1,000 hosts a request) and matches name prefixes in
// the page, rendering at most RENDER_MAX rows so the table stays quick.
// A host's detail; decommission behind a dialog that names the host.
import { api, query, ApiError } from "./api.js";
import { el, show, when, announce, replace } from "./dom.js";

const PAGE = 200;
const SEARCH_PAGE = 1000;
const RENDER_MAX = 500;
const STATUSES = ["enrolled", "active", "unreachable"];

function statusBadge(s) {
  return el(`span.badge.st-${/^[a-z]+$/.test(s || "") ? s : "other"}`, { text: show(s) });
}

// Ask for confirmation naming the host; resolves true on "Decommission".
function confirmDecommission(host) {
  const dlg = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent =
    `Decommission ${host.name} (${host.address})? Its certificate stops working and its bundle is deleted. This cannot be undone.`;
  dlg.returnValue = "";
  dlg.showModal();
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
  });
}

async function decommission(host, onDone) {
  if (!(await confirmDecommission(host))) return;
  try {
    await api("DELETE", `/swarm/hosts/${encodeURIComponent(host.uuid)}`);
    announce(`Decommissioned ${host.name}`);
    onDone();
  } catch (e) {
    announce(`Decommission of ${host.name} failed: ${e.message}`, "error");
  }
}

export function hostsView(root) {
  const state = { rows: [], after: null, more: false, loading: false };
  const status = el("select", { id: "f-status" },
    el("option", { value: "" }, "any status"),
    STATUSES.map((s) => el("option", { value: s }, s)));
  const search = el("input", {
    id: "f-name", type: "search", autocomplete: "off", spellcheck: "false",
    placeholder: "name starts with…", "aria-describedby": "f-name-hint",
  });
  const hint = el("p.hint", { id: "f-name-hint" });
  const tbody = el("tbody");
  const count = el("p.count", { id: "host-count" });
  const more = el("button.secondary", { type: "button", id: "load-more", hidden: true }, "Load more");

  function matches(h) {
    const p = search.value.trim().toLowerCase();
    return !p || h.name.toLowerCase().startsWith(p);
  }

  function row(h) {
    const tr = el("tr", { "data-uuid": h.uuid },
      el("th", { scope: "row" }, el("a", { href: `#/hosts/${encodeURIComponent(h.uuid)}`, text: h.name })),
      el("td", { "data-label": "Status" }, statusBadge(h.status)),
      el("td.mono", { "data-label": "Address", text: show(h.address) }),
      el("td.num", { "data-label": "Agent port", text: show(h.agent_port) }),
      el("td", { "data-label": "Enrolled" }, when(h.enrolled_at)),
      el("td", { "data-label": "Certificate expires" }, when(h.cert_not_after)),
      el("td", { "data-label": "Last heartbeat" }, when(h.last_heartbeat)),
      el("td", { "data-label": "" }, el("button.danger.small", {
        type: "button", "aria-label": `Decommission ${h.name}`,
        onclick: () => decommission(h, () => {
          state.rows = state.rows.filter((r) => r.uuid !== h.uuid);
          render();
        }),
      }, "Decommission")));
    return tr;
  }

  function render() {
    const all = state.rows.filter(matches);
    const shown = all.slice(0, RENDER_MAX);
    replace(tbody, shown.length ? shown.map(row)
      : el("tr", {}, el("td.empty", { colspan: 8, text: state.loading ? "Loading…" : "No hosts match." })));
    count.textContent = `${shown.length} shown of ${state.rows.length} loaded` +
      `${all.length > shown.length ? ` (${all.length} match: refine the search)` : ""}` +
      `${state.more ? " (more on the server)" : ""}`;
    hint.textContent = search.value.trim() && state.more
      ? "Searching: loading the rest of the hosts…"
      : "Matches names that start with the text.";
    more.hidden = !state.more;
  }

  async function load(reset, size = PAGE) {
    if (state.loading) return;
    if (reset) Object.assign(state, { rows: [], after: null, more: false });
    state.loading = true;
    render();
    try {
      const page = await api("GET", `/swarm/hosts${query({
        host_status: status.value, limit: size, after: state.after ?? undefined,
      })}`);
      state.rows.push(...page);
      state.more = page.length === size;
      if (page.length) state.after = page[page.length - 1].name;
    } catch (e) {
      announce(`Hosts could not be loaded: ${e.message}`, "error");
    } finally {
      state.loading = false;
      render();
    }
  }

  // A search needs every name: fetch what is not loaded yet, once.
  async function loadRest() {
    while (search.value.trim() && state.more && !state.loading) await load(false, SEARCH_PAGE);
  }
  status.addEventListener("change", () => load(true).then(loadRest));
  search.addEventListener("input", () => { render(); loadRest(); });
  more.addEventListener("click", () => load(false));

  replace(root,
    el("div.heading", {}, el("h2", { id: "view-title" }, "Hosts"),
      el("a.button", { href: "#/enroll" }, "Enroll a host")),
    el("div.filters", { role: "search" },
      el("div.field", {}, el("label", { for: "f-status" }, "Status"), status),
      el("div.field", {}, el("label", { for: "f-name" }, "Search by name"), search, hint)),
    count,
    el("div.table-wrap", {},
      el("table.hosts", { "aria-labelledby": "view-title" },
        el("thead", {}, el("tr", {},
          ["Name", "Status", "Address", "Agent port", "Enrolled", "Certificate expires",
            "Last heartbeat", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
        tbody)),
    more);
  load(true);
}

export async function hostView(root, uuid) {
  replace(root, el("p.muted", {}, "Loading…"));
  let h;
  try {
    h = await api("GET", `/swarm/hosts/${encodeURIComponent(uuid)}`);
  } catch (e) {
    replace(root, el("h2", { id: "view-title" }, "Host"),
      el("p.error", { text: e instanceof ApiError && e.status === 404 ? "No such host." : e.message }),
      el("a", { href: "#/hosts" }, "Back to the hosts"));
    return;
  }
  const fields = [
    ["Name", show(h.name)], ["Status", statusBadge(h.status)], ["UUID", show(h.uuid)],
    ["Address", show(h.address)], ["Agent port", show(h.agent_port)],
    ["Certificate fingerprint (SHA-256)", el("code.fp", { text: show(h.client_cert_fingerprint) })],
    ["Certificate expires", when(h.cert_not_after)], ["Enrolled", when(h.enrolled_at)],
    ["Last heartbeat", when(h.last_heartbeat)], ["Agent version", show(h.agent_version)],
    ["Notes", el("pre.notes", { text: show(h.notes) })],
  ];
  replace(root,
    el("p.crumbs", {}, el("a", { href: "#/hosts" }, "Hosts"), " / ", h.name),
    el("h2", { id: "view-title", text: h.name }),
    el("dl.detail", {}, fields.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)])),
    el("button.danger", {
      type: "button", id: "decommission",
      onclick: () => decommission(h, () => { location.hash = "#/hosts"; }),
    }, `Decommission ${h.name}`));
}

