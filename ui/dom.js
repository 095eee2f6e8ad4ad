// Building the page: every piece of text goes in through textContent or
// an attribute, never as HTML, so a host named "<img onerror=...>" or
// notes with <script> are shown as the characters they are.

// el("tag.class", {attr: value, onclick: fn}, child, "text", ...)
export function el(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const node = document.createElement(tag);
  if (classes.length) node.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const DASH = "—";

// A value from the API as display text: "—" when absent or null.
export function show(v) {
  return v === undefined || v === null || v === "" ? DASH : String(v);
}

// RFC 3339 UTC as "2026-04-18 23:18 UTC" (the title keeps it exact).
export function when(v) {
  if (!v) return el("span", { text: DASH });
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(v);
  return el("time", { datetime: v, title: v, text: m ? `${m[1]} ${m[2]} UTC` : v });
}

// Announce a result in the live region (and show it for a while).
let statusTimer = null;
export function announce(text, kind = "ok") {
  const s = document.getElementById("status");
  s.className = `status ${kind}`;
  s.textContent = "";
  clearTimeout(statusTimer);
  // A fresh text node, so the same message twice is announced twice.
  requestAnimationFrame(() => { s.textContent = text; });
  statusTimer = setTimeout(() => { s.textContent = ""; }, kind === "error" ? 20000 : 8000);
}

export function replace(parent, ...children) {
  parent.replaceChildren(...children.flat(Infinity).filter((c) => c));
}

// A button that copies `text()` to the clipboard.
export function copyButton(label, text) {
  return el("button.secondary", {
    type: "button",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text());
        announce(`${label} copied`);
      } catch {
        announce("Copying is not allowed here: select the text and copy it", "error");
      }
    },
  }, `Copy ${label.toLowerCase()}`);
}

// A file offered for download from memory (Blob), never stored elsewhere.
export function download(name, content, type = "application/x-pem-file") {
  const url = URL.createObjectURL(new Blob([content], { type }));
  return el("a.button", { href: url, download: name }, `Download ${name}`);
}
