// Enroll (the controller makes the key, or signs a pasted CSR) and
// bootstrap tokens (the worker makes its key and redeems the token).
// Both forms send an EnrollRequest; a 422 puts each message next to the
// field its loc names.
import { api, fieldErrors } from "./api.js";
import { el, show, when, announce, replace, copyButton, download } from "./dom.js";

const AGENT_DIR = "/var/lib/swarmctl-agent";

// One labelled input with its error slot (aria-describedby, aria-invalid).
function field(form, name, label, input, help) {
  input.id = `${form}-${name}`;
  input.name = name;
  const err = el("p.field-error", { id: `${form}-${name}-error`, "data-error-for": name });
  const helpEl = help ? el("p.hint", { id: `${form}-${name}-help`, text: help }) : null;
  input.setAttribute("aria-describedby", [helpEl && helpEl.id, err.id].filter(Boolean).join(" "));
  return el("div.field", {}, el("label", { for: input.id, text: label }), input, helpEl, err);
}

function hostFields(form) {
  return [
    field(form, "name", "Name", el("input", { required: true, maxlength: 64, autocomplete: "off", spellcheck: "false" }),
      "Letters, digits, '.', '_' and '-'; it becomes the certificate's CN."),
    field(form, "address", "Address", el("input", { required: true, maxlength: 253, autocomplete: "off", spellcheck: "false" }),
      "IP address or DNS name the controller reaches the worker at."),
    field(form, "agent_port", "Agent port", el("input", { type: "number", min: 1, max: 65535, value: 8765, inputmode: "numeric" })),
    field(form, "sans", "Extra names (SANs)", el("textarea", { rows: 2, spellcheck: "false" }),
      "Optional: IP addresses or DNS names, separated by spaces, commas or new lines."),
    field(form, "notes", "Notes", el("textarea", { rows: 2 })),
  ];
}

// The form's values as an EnrollRequest; agent_port as typed if not an
// integer, so the API's own message about it is the one shown.
function hostBody(form) {
  const v = (n) => form.elements[n].value;
  const port = v("agent_port").trim();
  const body = {
    name: v("name").trim(), address: v("address").trim(),
    agent_port: /^-?\d+$/.test(port) ? Number(port) : port,
    sans: v("sans").split(/[\s,]+/).filter(Boolean),
  };
  if (v("notes") !== "") body.notes = v("notes");
  return body;
}

function clearErrors(form) {
  for (const p of form.querySelectorAll("[data-error-for]")) p.textContent = "";
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  form.querySelector(".form-error").textContent = "";
}

// Show an API error on the form: 422 next to each field, else on top.
function showErrors(form, e) {
  const byField = e.status === 422 ? fieldErrors(e.detail) : { _: e.message };
  let first = null;
  for (const [name, msg] of Object.entries(byField)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) {
      slot.textContent = msg;
      const input = form.elements[name];
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      form.querySelector(".form-error").textContent = msg;
    }
  }
  announce(`Not done: ${Object.values(byField).join("; ")}`, "error");
  (first || form.querySelector(".form-error")).focus?.();
}

function pemBlock(title, pem) {
  return el("details", {}, el("summary", { text: title }), el("pre.pem", { text: pem }));
}

function bundleView(b) {
  const files = [["ca.crt", b.ca_cert_pem, "0644"], ["worker.crt", b.worker_cert_pem, "0644"]];
  if (b.worker_key_pem) files.push(["worker.key", b.worker_key_pem, "0600"]);
  const install = [
    `install -d -m 0700 ${AGENT_DIR}`,
    ...files.map(([n, , mode]) => `install -m ${mode} ${n} ${AGENT_DIR}/${n}`),
  ].join("\n");
  return el("section.result", { id: "bundle", "aria-labelledby": "bundle-title", tabindex: "-1" },
    el("h3", { id: "bundle-title", text: `Enrolled ${b.name}` }),
    el("dl.detail", {},
      el("dt", {}, "Host UUID"), el("dd", {}, el("a", { href: `#/hosts/${encodeURIComponent(b.host_uuid)}`, text: b.host_uuid })),
      el("dt", {}, "Certificate fingerprint (SHA-256)"), el("dd", {}, el("code.fp", { id: "bundle-fp", text: b.fingerprint })),
      el("dt", {}, "Address"), el("dd", { text: `${show(b.address)} port ${show(b.agent_port)}` })),
    b.worker_key_pem
      ? el("p.warn", {}, "The private key is shown only now: download it and keep it secret. The controller keeps no copy for you to fetch again.")
      : el("p", {}, "The key stayed with whoever made the CSR: install it beside these files as worker.key, mode 0600."),
    el("div.downloads", {}, files.map(([n, pem]) => download(n, pem))),
    el("h4", {}, "Install on the worker (as root, in the directory with the files)"),
    el("pre.cmd", { id: "install-cmd", text: install }),
    copyButton("Install commands", () => install),
    files.map(([n, pem]) => pemBlock(n, pem)));
}

function enrollForm(kind, onDone) {
  const form = el("form.card", { novalidate: true, id: `${kind}-form` });
  const extra = kind === "enroll"
    ? [field(kind, "csr_pem", "Certificate signing request (optional)",
      el("textarea.mono", { rows: 4, spellcheck: "false", placeholder: "-----BEGIN CERTIFICATE REQUEST-----" }),
      "Paste a PKCS#10 CSR to keep the key on the worker; leave empty to have the controller make the key.")]
    : [field(kind, "ttl_seconds", "Valid for (seconds)", el("input", { type: "number", min: 60, max: 86400, value: 900, inputmode: "numeric" }),
      "60 to 86400; the token works once.")];
  const submit = el("button", { type: "submit" }, kind === "enroll" ? "Enroll" : "Create token");
  form.append(el("p.form-error", { tabindex: "-1", role: "alert" }), ...hostFields(kind), ...extra,
    el("div.actions", {}, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = hostBody(form);
    if (kind === "enroll" && form.elements.csr_pem.value.trim()) body.csr_pem = form.elements.csr_pem.value.trim();
    if (kind === "tokens") {
      const t = form.elements.ttl_seconds.value.trim();
      if (t) body.ttl_seconds = /^\d+$/.test(t) ? Number(t) : t;
    }
    submit.disabled = true;
    try {
      const r = await api("POST", kind === "enroll" ? "/swarm/enroll" : "/swarm/tokens", body);
      form.reset();
      onDone(r);
    } catch (e) {
      showErrors(form, e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function enrollView(root) {
  const out = el("div", { id: "enroll-result" });
  replace(root, el("h2", { id: "view-title" }, "Enroll a host"),
    el("p.muted", {}, "The controller signs a worker certificate for the host and returns the bundle once."),
    enrollForm("enroll", (b) => {
      replace(out, bundleView(b));
      announce(`Enrolled ${b.name}, fingerprint ${b.fingerprint}`);
      out.querySelector("#bundle").focus();
    }), out);
}

// The worker's one line.  A controller too old to send the front-end
// CA's fingerprint leaves a placeholder, explained under the command.
function workerCommand(t) {
  return `swarmctl agent enroll --url ${location.origin} --token ${t.token}` +
    ` --ca-fingerprint ${t.controller_ca_fingerprint || "FRONT_CA_SHA256"} --dir ${AGENT_DIR}`;
}

function tokenResult(t) {
  const cmd = workerCommand(t);
  return el("section.result", { id: "token-result", "aria-labelledby": "token-title", tabindex: "-1" },
    el("h3", { id: "token-title", text: `Token for ${t.name}` }),
    el("p.warn", {}, "Shown once: the controller keeps only its hash. Run this on the worker before it expires:"),
    el("pre.cmd", { id: "worker-cmd", text: cmd }),
    copyButton("Worker command", () => cmd),
    t.controller_ca_fingerprint ? null : el("p.hint", {},
      "Replace FRONT_CA_SHA256 with the SHA-256 of the controller's front-ca.crt: ",
      el("code", {}, "openssl x509 -in front-ca.crt -outform DER | sha256sum")),
    el("dl.detail", {},
      el("dt", {}, "Token"), el("dd", {}, el("code", { text: t.token })),
      el("dt", {}, "Expires"), el("dd", {}, when(t.expires_at)),
      el("dt", {}, "Controller CA fingerprint"), el("dd", {}, el("code.fp", { text: show(t.controller_ca_fingerprint) }))));
}

export function tokensView(root) {
  const out = el("div");
  const tbody = el("tbody");
  async function list() {
    try {
      const rows = await api("GET", "/swarm/tokens");
      replace(tbody, rows.length ? rows.map((t) => el("tr", {},
        el("th", { scope: "row", text: show(t.name) }), el("td", { text: show(t.state) }),
        el("td", { text: show(t.created_by) }), el("td", {}, when(t.expires_at)),
        el("td", {}, t.state === "active" ? el("button.danger.small", {
          type: "button", "aria-label": `Revoke the token for ${t.name}`,
          onclick: async () => {
            try {
              await api("DELETE", `/swarm/tokens/${encodeURIComponent(t.id)}`);
              announce(`Revoked the token for ${t.name}`);
            } catch (e) {
              announce(`Revoking failed: ${e.message}`, "error");
            }
            list();
          },
        }, "Revoke") : "")))
        : el("tr", {}, el("td.empty", { colspan: 5 }, "No tokens.")));
    } catch (e) {
      announce(`Tokens could not be loaded: ${e.message}`, "error");
    }
  }
  replace(root, el("h2", { id: "view-title" }, "Bootstrap tokens"),
    el("p.muted", {}, "A token lets a worker enroll itself once with a key it makes: no key travels."),
    enrollForm("tokens", (t) => {
      replace(out, tokenResult(t));
      announce(`Token created for ${t.name}: copy the worker command now`);
      out.querySelector("#token-result").focus();
      list();
    }), out,
    el("h3", {}, "Tokens"),
    el("div.table-wrap", {}, el("table", {},
      el("thead", {}, el("tr", {}, ["Host", "State", "Created by", "Expires", ""].map((h) => el("th", { scope: "col" }, h)))),
      tbody)));
  list();
}
