// The console's scenarios in headless Chromium (run by
// tests/integration/console.sh, which seeds the stack and sets the
// environment).  Prints "PASS desc" / "FAIL desc: why" lines that the
// shell test turns into TAP.
"use strict";
const fs = require("fs");
const path = require("path");
const puppeteer = require(path.join(process.env.BROWSER_DIR, "node_modules", "puppeteer-core"));

const BASE = process.env.BASE;
const SHOTS = process.env.SHOTS;
const HOSTILE_NAME = process.env.HOSTILE_NAME;
const HOSTILE_NOTES = process.env.HOSTILE_NOTES;
const FLEET = Number(process.env.FLEET);
const ACTIVE = Number(process.env.ACTIVE);
const CSR = fs.readFileSync(process.env.CSR_FILE, "utf8");
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

let failed = 0;
function check(cond, desc, why = "") {
  if (cond) console.log(`PASS ${desc}`);
  else { failed++; console.log(`FAIL ${desc}${why ? `: ${why}` : ""}`); }
}

function launch(home) {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    userDataDir: path.join(home, "profile"),
    env: { ...process.env, HOME: home },
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--lang=en-US"],
  });
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const texts = (page, sel) => page.$$eval(sel, (es) => es.map((e) => e.textContent));
async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}
async function waitText(page, sel, re, timeout = 15000) {
  await page.waitForFunction((s, src) => {
    const e = document.querySelector(s);
    return e && new RegExp(src).test(e.textContent);
  }, { timeout }, sel, re.source);
}
async function fill(page, sel, value) {
  await page.$eval(sel, (e) => { e.value = ""; });
  await page.type(sel, value);
}
const loadedCount = (page) => text(page, "#host-count").then((t) => t);

async function scenarios(browser) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Script errors and CSP reports; the browser's notes on 4xx answers
  // the console asked for (a 422 it shows) are not errors.
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4/.test(m.text()))
      errors.push(m.text());
  });
  await page.setViewport({ width: 1280, height: 860 });

  // Load: / redirects to the console; its headers are the strict ones.
  const resp = await page.goto(`${BASE}/`, { waitUntil: "networkidle0" });
  check(page.url() === `${BASE}/swarm/ui/`, "/ leads to /swarm/ui/", page.url());
  const h = resp.headers();
  check(h["content-security-policy"] === CSP, "the console is served with the strict CSP", h["content-security-policy"]);
  check(h["x-frame-options"] === "DENY" && h["x-content-type-options"] === "nosniff" &&
    h["referrer-policy"] === "no-referrer" && h["cache-control"] === "no-store",
    "X-Frame-Options, nosniff, Referrer-Policy, no-store", JSON.stringify(h));
  const inline = await page.evaluate(() => ({
    scripts: [...document.scripts].filter((s) => !s.src).length,
    styles: document.querySelectorAll("style, [style]").length,
    handlers: [...document.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).length,
  }));
  check(inline.scripts === 0 && inline.styles === 0 && inline.handlers === 0,
    "no inline script, style or event handler attribute", JSON.stringify(inline));

  // List: the first page, in name order.
  await waitText(page, "#host-count", /loaded/);
  await page.waitForFunction(() => document.querySelectorAll("table.hosts tbody tr[data-uuid]").length > 0);
  let names = await texts(page, "table.hosts tbody tr[data-uuid] th");
  check(names.length === 200, "the hosts table shows the first page of 200", String(names.length));
  check(JSON.stringify(names) === JSON.stringify([...names].sort()), "... in name order");
  check(/more on the server/.test(await loadedCount(page)), "... and says there is more");
  const headers = await texts(page, "table.hosts thead th");
  check(["Name", "Status", "Address", "Agent port", "Enrolled", "Certificate expires", "Last heartbeat"]
    .every((c) => headers.includes(c)), "columns: name, status, address, port, enrolled, expiry, heartbeat", headers.join("|"));

  // Hostile name: rendered as its characters, no element made from it.
  check(names.includes(HOSTILE_NAME), "a host named with markup is listed as text", names.slice(0, 3).join("|"));
  const hostile = await page.evaluate(() => ({
    imgs: document.querySelectorAll("main img, main b, main script").length, pwned: window.__pwned,
  }));
  check(hostile.imgs === 0 && hostile.pwned === undefined, "... and no element was created from it", JSON.stringify(hostile));
  await shot(page, "hosts-desktop", false);

  // Paging: "Load more" until the whole fleet is there.
  for (let i = 0; i < 10 && await page.$eval("#load-more", (b) => !b.hidden); i++) {
    await page.click("#load-more");
    await page.waitForFunction((n) => document.querySelectorAll("table.hosts tbody tr[data-uuid]").length > n,
      { timeout: 15000 }, 200 * (i + 1) - 1).catch(() => {});
    await page.waitForFunction(() => !/Loading/.test(document.querySelector("#host-count").textContent));
  }
  const total = await page.$$eval("table.hosts tbody tr[data-uuid]", (r) => r.length);
  check(total === FLEET + 1, `Load more pages through all ${FLEET + 1} hosts`, String(total));

  // Search by name prefix among the loaded hosts.
  await page.type("#f-name", "fleet-0012");
  names = await texts(page, "table.hosts tbody tr[data-uuid] th");
  check(names.length === 10 && names.every((n) => n.startsWith("fleet-0012")), "search by name prefix", names.join(","));
  await fill(page, "#f-name", "");

  // Filter by status (server-side ?host_status).
  await page.select("#f-status", "active");
  await page.waitForFunction((n) => document.querySelectorAll("table.hosts tbody tr[data-uuid]").length === n &&
    !/Loading/.test(document.querySelector("#host-count").textContent), { timeout: 15000 }, Math.min(ACTIVE, 200))
    .catch(() => {});
  const statuses = await texts(page, "table.hosts tbody tr[data-uuid] .badge");
  check(statuses.length === Math.min(ACTIVE, 200) && statuses.every((s) => s === "active"),
    "filter by status shows only those hosts", `${statuses.length} ${[...new Set(statuses)]}`);
  await page.select("#f-status", "");
  await waitText(page, "#host-count", /^200 shown/);

  // Detail of the hostile host: fingerprint, notes as text.
  await page.$$eval("table.hosts tbody tr[data-uuid] th a", (as, n) => as.find((a) => a.textContent === n).click(), HOSTILE_NAME);
  await page.waitForSelector("dl.detail");
  check(await text(page, "h2") === HOSTILE_NAME, "the host's detail view opens");
  const fp = await text(page, "code.fp");
  check(/^[0-9a-f]{64}$/.test(fp), "... with the certificate fingerprint", fp);
  check(await text(page, "pre.notes") === HOSTILE_NOTES, "... notes with <script> shown as text");
  const det = await page.evaluate(() => ({ scripts: document.scripts.length, imgs: document.querySelectorAll("img").length, pwned: window.__pwned }));
  check(det.scripts === 1 && det.imgs === 0 && det.pwned === undefined, "... and never run or parsed", JSON.stringify(det));
  await shot(page, "host-detail");

  // Enroll: 422 messages next to their fields.
  await page.click('a[data-nav="enroll"]');
  await page.waitForSelector("#enroll-form");
  await fill(page, "#enroll-name", "bad name!");
  await fill(page, "#enroll-address", "192.0.2.10");
  await fill(page, "#enroll-agent_port", "70000");
  await page.click('#enroll-form button[type="submit"]');
  await waitText(page, '[data-error-for="agent_port"]', /./);
  const portErr = await text(page, '[data-error-for="agent_port"]');
  const nameErr = await text(page, '[data-error-for="name"]');
  const invalid = await page.$$eval("[aria-invalid=true]", (es) => es.map((e) => e.name).sort().join(","));
  check(/65535/.test(portErr) && nameErr.length > 0 && invalid === "agent_port,name",
    "a 422 puts each message next to the field its loc names", `${portErr} | ${nameErr} | ${invalid}`);
  check(/Not done/.test(await text(page, "#status")), "... and the live region says so");
  await shot(page, "enroll-422");

  // Enroll for real: the bundle, its fingerprint, downloads, commands.
  await fill(page, "#enroll-name", "web-01");
  await fill(page, "#enroll-agent_port", "8765");
  await fill(page, "#enroll-notes", "rack 4");
  await page.click('#enroll-form button[type="submit"]');
  await page.waitForSelector("#bundle", { timeout: 60000 });
  const bfp = await text(page, "#bundle-fp");
  check(/^[0-9a-f]{64}$/.test(bfp), "enrolling shows the bundle with the fingerprint", bfp);
  const links = await page.$$eval(".downloads a", (as) => as.map((a) => [a.getAttribute("download"), a.href]));
  check(JSON.stringify(links.map((l) => l[0])) === JSON.stringify(["ca.crt", "worker.crt", "worker.key"]) &&
    links.every((l) => l[1].startsWith("blob:")), "... offered as downloadable files (Blob)", JSON.stringify(links));
  // Download them as a user would (the CSP keeps fetch() off blob: URLs).
  const dl = path.join(process.env.DOWNLOADS);
  const cdp = await page.createCDPSession();
  await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: dl });
  for (const [name] of links) await page.click(`.downloads a[download="${name}"]`);
  const blobs = [];
  for (const [name] of links) {
    for (let i = 0; i < 50 && !fs.existsSync(path.join(dl, name)); i++) await new Promise((r) => setTimeout(r, 100));
    blobs.push(fs.existsSync(path.join(dl, name)) ? fs.readFileSync(path.join(dl, name), "utf8") : "");
  }
  check(/^-----BEGIN CERTIFICATE-----/.test(blobs[0]) && /^-----BEGIN CERTIFICATE-----/.test(blobs[1]) &&
    /^-----BEGIN PRIVATE KEY-----/.test(blobs[2]), "... whose contents are the PEM files");
  const cmd = await text(page, "#install-cmd");
  check(/install -m 0600 worker\.key /.test(cmd) && /install -d -m 0700 /.test(cmd) && /install -m 0644 worker\.crt/.test(cmd),
    "... with install commands and file modes", cmd);
  check(new RegExp(`Enrolled web-01`).test(await text(page, "#status")), "... announced in the live region");
  await shot(page, "enroll-bundle");
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await shot(page, "enroll-bundle-phone");
  await page.setViewport({ width: 1280, height: 860 });

  // CSR enrollment: the key stays with the worker.
  await fill(page, "#enroll-name", "csr-01");
  await fill(page, "#enroll-address", "csr-01.example");
  await page.$eval("#enroll-csr_pem", (e, v) => { e.value = v; }, CSR);
  await page.click('#enroll-form button[type="submit"]');
  await waitText(page, "#bundle-title", /csr-01/, 60000);
  const csrLinks = await page.$$eval(".downloads a", (as) => as.map((a) => a.getAttribute("download")).join(","));
  check(csrLinks === "ca.crt,worker.crt", "a pasted CSR enrolls, and no key is offered", csrLinks);

  // Token: shown once with the copyable one-line worker command.
  await page.click('a[data-nav="tokens"]');
  await page.waitForSelector("#tokens-form");
  await fill(page, "#tokens-name", "agent-01");
  await fill(page, "#tokens-address", "192.0.2.20");
  const created = page.waitForResponse((r) => r.url().endsWith("/swarm/tokens") && r.request().method() === "POST");
  await page.click('#tokens-form button[type="submit"]');
  const tok = await (await created).json();
  await page.waitForSelector("#worker-cmd", { timeout: 15000 });
  const wcmd = await text(page, "#worker-cmd");
  const want = `swarmctl agent enroll --url ${BASE} --token ${tok.token} --ca-fingerprint ` +
    `${tok.controller_ca_fingerprint || "FRONT_CA_SHA256"} --dir /var/lib/swarmctl-agent`;
  check(/^swt_/.test(tok.token) && wcmd === want, "a token comes with the one-line worker command", `${wcmd} != ${want}`);
  check(await page.$$eval("#token-result button", (b) => b.some((x) => /Copy/.test(x.textContent))), "... and a copy button");
  await page.waitForFunction(() => [...document.querySelectorAll("tbody th")].some((t) => t.textContent === "agent-01"));
  check(true, "... and the token list shows it");
  await shot(page, "token");

  // Decommission: the dialog names the host; the list updates in place.
  await page.click('a[data-nav="hosts"]');
  await waitText(page, "#host-count", /^200 shown/);
  await page.evaluate(() => { window.__noReload = true; });
  await page.type("#f-name", "web-01");
  await page.waitForFunction(() => document.querySelectorAll("table.hosts tbody tr[data-uuid]").length === 1);
  await page.click('button[aria-label="Decommission web-01"]');
  await page.waitForSelector("#confirm[open]");
  const ask = await text(page, "#confirm-text");
  check(/web-01/.test(ask), "decommission asks first, naming the host", ask);
  await shot(page, "decommission-confirm");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#confirm:not([open])");
  check(await page.$$eval("table.hosts tbody tr[data-uuid]", (r) => r.length) === 1, "... cancelling keeps the host");
  await page.click('button[aria-label="Decommission web-01"]');
  await page.waitForSelector("#confirm[open]");
  await page.click("#confirm-ok");
  await waitText(page, "#status", /Decommissioned web-01/);
  const left = await page.$$eval("table.hosts tbody tr[data-uuid]", (r) => r.length);
  const gone = await page.evaluate(() => fetch(`/swarm/hosts${location.search}`).then((r) => r.json()))
    .then((l) => !l.some((x) => x.name === "web-01"));
  check(left === 0 && gone, "... confirming removes it from the list and the server", `${left} ${gone}`);
  check(await page.evaluate(() => window.__noReload === true), "... without a reload");
  await fill(page, "#f-name", "");

  // Audit: newest first, filtered by action and outcome.
  await page.click('a[data-nav="audit"]');
  await page.waitForFunction(() => document.querySelectorAll("table.audit tbody tr td time").length > 0, { timeout: 15000 });
  const times = await page.$$eval("table.audit tbody tr td time", (t) => t.map((x) => x.getAttribute("datetime")));
  check(times.length >= 4 && times.every((t, i) => i === 0 || times[i - 1] >= t), "the audit view lists entries newest first", times.slice(0, 4).join(" "));
  await page.select("#a-action", "decommission");
  let acts = await page.$$eval("table.audit tbody tr", (rs) => rs.map((r) => r.children[2].textContent));
  check(acts.length >= 1 && acts.every((a) => a === "decommission"), "... filtered by action", acts.join(","));
  await page.select("#a-action", "enroll");
  await page.select("#a-outcome", "invalid");
  acts = await page.$$eval("table.audit tbody tr", (rs) => rs.map((r) => `${r.children[2].textContent}/${r.children[4].textContent}`));
  check(acts.length >= 1 && acts.every((a) => a === "enroll/invalid"), "... and by outcome", acts.join(","));
  await page.select("#a-action", "");
  await page.select("#a-outcome", "");
  await shot(page, "audit");

  // Phone width: no sideways scrolling, hosts as cards.
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await page.click('a[data-nav="hosts"]');
  await waitText(page, "#host-count", /^200 shown/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 390, "at 390 px the console fits the width", String(overflow));
  await shot(page, "hosts-phone", false);
  check(errors.length === 0, "no script errors or CSP violations in the console", errors.join(" | "));
  await page.close();
}

async function withoutCertificate() {
  const home = process.env.NOCERT_HOME;
  fs.mkdirSync(home, { recursive: true });
  const browser = await launch(home);
  try {
    const page = await browser.newPage();
    const r = await page.goto(`${BASE}/swarm/hosts`);
    check(r.status() === 403, "a browser without the certificate is refused by the API", String(r.status()));
    await page.goto(`${BASE}/swarm/ui/`, { waitUntil: "networkidle0" });
    await waitText(page, "#status", /certificate required/).catch(() => {});
    check(/operator certificate required/.test(await text(page, "#status")),
      "... and the console tells it to import the .p12", await text(page, "#status"));
  } finally {
    await browser.close();
  }
}

(async () => {
  const browser = await launch(process.env.HOME);
  try {
    await scenarios(browser);
  } catch (e) {
    check(false, "the console scenarios run to the end", e.stack);
  } finally {
    await browser.close();
  }
  try {
    await withoutCertificate();
  } catch (e) {
    check(false, "the no-certificate scenario runs", e.stack);
  }
  process.exit(failed ? 1 : 0);
})();
