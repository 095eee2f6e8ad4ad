// Audit: the newest entries first (the API returns them so), filtered by
// action and outcome in the page among the 1,000 newest the API serves.
import { api } from "./api.js";
import { el, show, when, announce, replace } from "./dom.js";

export function auditView(root) {
  let rows = [];
  const action = el("select", { id: "a-action" }, el("option", { value: "" }, "any action"));
  const outcome = el("select", { id: "a-outcome" }, el("option", { value: "" }, "any outcome"));
  const tbody = el("tbody");
  const count = el("p.count");

  function fill(select, values) {
    const keep = select.value;
    replace(select, select.options[0], [...new Set(values)].sort().map((v) => el("option", { value: v, text: v })));
    select.value = keep;
  }
  function render() {
    const shown = rows.filter((r) => (!action.value || r.action === action.value) &&
      (!outcome.value || r.outcome === outcome.value));
    count.textContent = `${shown.length} of the ${rows.length} newest entries`;
    replace(tbody, shown.length ? shown.map((r) => el("tr", {},
      el("td", {}, when(r.at)), el("td", { text: show(r.actor) }), el("td", { text: show(r.action) }),
      el("td", { text: show(r.target) }),
      el("td", {}, el(`span.badge.out-${/^[a-z]+$/.test(r.outcome || "") ? r.outcome : "other"}`, { text: show(r.outcome) })),
      el("td.detail-text", { text: show(r.detail) }), el("td.mono", { text: show(r.client_addr) })))
      : el("tr", {}, el("td.empty", { colspan: 7 }, "No entries match.")));
  }
  async function load() {
    try {
      rows = await api("GET", "/swarm/audit?limit=1000");
      fill(action, rows.map((r) => r.action).filter(Boolean));
      fill(outcome, rows.map((r) => r.outcome).filter(Boolean));
      render();
    } catch (e) {
      announce(`The audit trail could not be loaded: ${e.message}`, "error");
    }
  }
  action.addEventListener("change", render);
  outcome.addEventListener("change", render);
  replace(root,
    el("div.heading", {}, el("h2", { id: "view-title" }, "Audit trail"),
      el("button.secondary", { type: "button", onclick: load }, "Refresh")),
    el("div.filters", {},
      el("div.field", {}, el("label", { for: "a-action" }, "Action"), action),
      el("div.field", {}, el("label", { for: "a-outcome" }, "Outcome"), outcome)),
    count,
    el("div.table-wrap", {}, el("table.audit", { "aria-labelledby": "view-title" },
      el("thead", {}, el("tr", {}, ["Time", "Actor", "Action", "Target", "Outcome", "Detail", "Client"]
        .map((h) => el("th", { scope: "col" }, h)))), tbody)));
  load();
}
