// The JSON API, same origin: the browser presents the operator's client
// certificate on the TLS connection; nothing is stored in the page.

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `no answer from the controller (${e.message})`);
  }
  if (resp.status === 204) return null;
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    let detail = data && data.detail !== undefined ? data.detail : `HTTP ${resp.status}`;
    if (resp.status === 403 && detail === "operator certificate required")
      detail = "operator certificate required: import your .p12 into the browser and reload";
    throw new ApiError(resp.status, detail);
  }
  return data;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// A 422's details as {field: message}: loc is ["body", "sans", 2] etc.
export function fieldErrors(detail) {
  const out = {};
  if (!Array.isArray(detail)) return out;
  for (const d of detail) {
    const field = Array.isArray(d.loc) && d.loc.length > 1 ? String(d.loc[1]) : "_";
    out[field] = out[field] ? `${out[field]}; ${d.msg}` : String(d.msg);
  }
  return out;
}
