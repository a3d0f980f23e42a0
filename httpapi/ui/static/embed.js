// embed.js: the embeddable Hashtrail viewer, a framework-free custom element.
//
//   <script src="https://hashtrail.example/ui/static/embed.js" defer></script>
//   <hashtrail-log token="htv_…" server="https://hashtrail.example"></hashtrail-log>
//
// Attributes: token (a viewer token, required), server (the Hashtrail base
// URL; default the origin embed.js came from), tenant (default the token's),
// heading, page-size (default 25), log-key (note verifier keys to pin,
// space-separated; default the keys the server publishes at /v1/log/keys),
// log-origin (the log's origin to expect; default the checkpoint's when it
// names the tenant).
//
// It shows the token's events newest first with a search box (q= AND-ed by
// the server with the token's filter: a search can only narrow it), "Load
// more" by cursor, an event's details and its inclusion proof, checked in
// the browser by verify.js. Everything renders in a Shadow DOM, themed with
// CSS variables (--hashtrail-accent, --hashtrail-font, --hashtrail-bg,
// --hashtrail-fg, --hashtrail-muted, --hashtrail-border, --hashtrail-radius,
// --hashtrail-danger, --hashtrail-warning) and ::part() (container, header,
// title, search, label, input, button, status, list, item, icon, sentence,
// time, badge, more, detail, back, fields, receipt); theme="dark" (or
// "auto", following the visitor's system) switches the default colours.
// A failed load dispatches "hashtrail-error" on the element, detail
// {message, status, expired}: on expired, mint a new token and set the token
// attribute, which reloads the viewer. Keys: ↑/↓ (or k/j) move between
// events, Home/End, Enter opens one, Escape goes back.
(() => {
  "use strict";
  if (typeof customElements === "undefined" || customElements.get("hashtrail-log")) return;

  const scriptURL = (document.currentScript && document.currentScript.src) || location.href;
  let sheet = null; // the one style sheet every viewer on the page shares

  const CSS = `
:host { --_font: var(--hashtrail-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif); --_fg: var(--hashtrail-fg, #1f2328); --_bg: var(--hashtrail-bg, #fff); --_border: var(--hashtrail-border, #d0d7de); --_radius: var(--hashtrail-radius, 8px); --_accent: var(--hashtrail-accent, #0969da); --_muted: var(--hashtrail-muted, #59636e); --_danger: var(--hashtrail-danger, #cf222e); --_warning: var(--hashtrail-warning, #9a6700); --_ok: var(--hashtrail-ok, #1a7f37);
  --_link: var(--hashtrail-link, var(--_accent)); }
:host([theme="dark"]) { --_accent: var(--hashtrail-accent, #1f6feb); --_fg: var(--hashtrail-fg, #e6edf3); --_bg: var(--hashtrail-bg, #0d1117); --_muted: var(--hashtrail-muted, #9198a1); --_border: var(--hashtrail-border, #3d444d); --_danger: var(--hashtrail-danger, #f85149); --_warning: var(--hashtrail-warning, #d29922); --_ok: var(--hashtrail-ok, #3fb950); --_link: var(--hashtrail-link, #4493f8); }
@media (prefers-color-scheme: dark) { :host([theme="auto"]) { --_accent: var(--hashtrail-accent, #1f6feb); --_fg: var(--hashtrail-fg, #e6edf3); --_bg: var(--hashtrail-bg, #0d1117); --_muted: var(--hashtrail-muted, #9198a1); --_border: var(--hashtrail-border, #3d444d); --_danger: var(--hashtrail-danger, #f85149); --_warning: var(--hashtrail-warning, #d29922); --_ok: var(--hashtrail-ok, #3fb950); --_link: var(--hashtrail-link, #4493f8); } }
:host { display: block; font-family: var(--_font);
  color: var(--_fg); background: var(--_bg); font-size: 14px; line-height: 1.45; }
[hidden] { display: none !important; }
.box { border: 1px solid var(--_border); border-radius: var(--_radius); overflow: hidden; }
header { display: flex; align-items: center; justify-content: space-between; gap: 12px; padding: 12px 16px;
  border-bottom: 1px solid var(--_border); flex-wrap: wrap; }
h2 { margin: 0; font-size: 16px; font-weight: 600; }
form { display: flex; gap: 8px; align-items: center; flex: 1 1 260px; max-width: 480px; }
label.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
input { flex: 1; min-width: 0; font: inherit; padding: 6px 10px; border: 1px solid var(--_border);
  border-radius: calc(var(--_radius) - 2px); background: var(--_bg); color: inherit; }
button { font: inherit; cursor: pointer; padding: 6px 12px; border-radius: calc(var(--_radius) - 2px);
  border: 1px solid var(--_accent); background: var(--_accent); color: #fff; }
button.plain { background: transparent; color: var(--_link); }
:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
.status { margin: 0; padding: 8px 16px; color: var(--_muted); }
.status:empty { display: none; }
.status.error { color: var(--_danger); }
article + article { border-top: 1px solid var(--_border); }
article { display: grid; grid-template-columns: 28px 1fr auto; gap: 10px; align-items: start; padding: 10px 16px; cursor: pointer; }
article:hover, article:focus { background: color-mix(in srgb, var(--_accent) 7%, transparent); }
article:focus { outline: 2px solid var(--_accent); outline-offset: -2px; }
.icon { width: 28px; height: 28px; border-radius: 50%; display: grid; place-items: center; color: #fff; background: var(--c, #6e7781); }
.icon svg { width: 16px; height: 16px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.sentence { margin: 0; overflow-wrap: anywhere; }
.meta { margin: 2px 0 0; color: var(--_muted); font-size: 12px; }
time { color: var(--_muted); font-size: 12px; white-space: nowrap; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 10px; margin-left: 6px;
  border: 1px solid currentColor; vertical-align: 1px; }
.badge.failure { color: var(--_danger); }
.badge.high { color: var(--_warning); }
.badge.critical { color: var(--_danger); }
.more { padding: 12px 16px; border-top: 1px solid var(--_border); text-align: center; }
.detail { padding: 12px 16px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 12px 0; }
dt { color: var(--_muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { margin: 0; white-space: pre-wrap; font-size: 12px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.receipt { margin-top: 12px; padding: 10px 12px; border-radius: calc(var(--_radius) - 2px);
  border: 1px solid var(--_border); }
[part~="download"] { margin-top: 8px; }
.receipt[data-state="verified"] { border-color: var(--_ok); color: var(--_ok); }
.receipt[data-state="failed"] { border-color: var(--_danger); color: var(--_danger); }
h3 { font-size: 15px; margin: 12px 0 0; }
h3:focus { outline: none; }
.hidden-note { color: var(--_muted); font-size: 12px; }
`;

  // Category colours and icons (24×24 strokes).
  const CATEGORIES = {
    authentication: ["#0969da", '<path d="M15 7a4 4 0 1 1-3.9 5H4v3h3v3h3v-3h1.1"/>'],
    authorization: ["#8250df", '<path d="M12 3l7 3v6c0 4.5-3 7.5-7 9-4-1.5-7-4.5-7-9V6z"/>'],
    account: ["#1a7f37", '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4 4-6 8-6s8 2 8 6"/>'],
    access: ["#0550ae", '<path d="M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>'],
    configuration: ["#9a6700", '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2"/>'],
    data: ["#bc4c00", '<ellipse cx="12" cy="5" rx="8" ry="3"/><path d="M4 5v14c0 1.7 3.6 3 8 3s8-1.3 8-3V5M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"/>'],
    resource: ["#6e7781", '<path d="M3 7l9-4 9 4-9 4zM3 7v10l9 4 9-4V7M12 11v10"/>'],
    system: ["#57606a", '<rect x="4" y="4" width="16" height="16" rx="2"/><path d="M9 9h6v6H9z"/>'],
    security: ["#cf222e", '<path d="M12 3l10 18H2z"/><path d="M12 10v5M12 18v.5"/>'],
  };

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function icon(category) {
    const [color, paths] = CATEGORIES[category] || CATEGORIES.resource;
    const span = el("span", { class: "icon", part: "icon", "aria-hidden": "true" });
    span.style.setProperty("--c", color); // CSSOM, which a page's CSP allows
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    // The paths are the constants above, never data from the server.
    svg.innerHTML = paths;
    span.append(svg);
    return span;
  }

  function claimsOf(token) {
    try {
      const body = token.slice(4).split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(body + "=".repeat((4 - (body.length % 4)) % 4)));
    } catch {
      return {};
    }
  }

  // The sentence of each action: the web UI's table (httpapi/ui/describe.go,
  // which a test keeps this copy equal to), as plain text.
  const SENTENCES = /* sentences:begin */ {
    "user.login": "{actor} signed in{auth}{from}",
    "user.login_failed": "{actor} failed to sign in{auth}{from}",
    "user.logout": "{actor} signed out",
    "user.mfa_enable": "{actor} turned on two-factor authentication",
    "user.mfa_disable": "{actor} turned off two-factor authentication",
    "user.password_change": "{actor} changed their password",
    "user.password_reset": "{actor} reset the password of {t:user}",
    "user.create": "{actor} created the account {t:user}",
    "user.update": "{actor} updated the account {t:user}{fields}",
    "user.delete": "{actor} deleted the account {t:user}",
    "user.email_change": "{actor} changed the email address of {t:user}",
    "role.create": "{actor} created role {t:role}",
    "role.delete": "{actor} deleted role {t:role}",
    "role.assign": "{actor} added {t:user} to role {t:role}{in}",
    "role.unassign": "{actor} removed {t:user} from role {t:role}{in}",
    "role.permission_grant": "{actor} granted {t:permission} to role {t:role}",
    "role.permission_revoke": "{actor} revoked {t:permission} from role {t:role}",
    "group.create": "{actor} created group {t:group}",
    "group.delete": "{actor} deleted group {t:group}",
    "member.add": "{actor} added {t:user} as a member{in}",
    "member.remove": "{actor} removed the member {t:user}{in}",
    "api_key.create": "{actor} created API key {t:api_key}",
    "api_key.revoke": "{actor} revoked API key {t:api_key}",
    "api_key.use": "{actor} used API key {t:api_key}",
    "access.request": "{actor} requested access to {targets}",
    "access.grant": "{actor} granted access to {targets}",
    "access.deny": "{actor} denied access to {targets}",
    "project.create": "{actor} created project {t:project}",
    "project.update": "{actor} updated project {t:project}{fields}",
    "project.delete": "{actor} deleted project {t:project}",
    "app.env_var_add": "{actor} added environment variable {t:env_var} to {t:app}",
    "app.env_var_change": "{actor} changed environment variable {t:env_var} of {t:app}",
    "app.env_var_remove": "{actor} removed environment variable {t:env_var} from {t:app}",
    "settings.update": "{actor} updated settings{fields} of {targets}",
    "app.deploy": "{actor} deployed {t:app}{meta:git_ref}",
    "command.run": "{actor} ran {command}{in}",
    "data.export": "{actor} exported {targets}",
    "data.read": "{actor} read {targets}",
    "system.subject_erased": "The personal data of a data subject was erased",
    "system.retention_purge": "Events past their retention period were purged"
  } /* sentences:end */;
  const GENERIC = "{actor} performed {action} on {targets}";
  const FALLBACKS = { user: "an account", role: "a role", permission: "a permission", group: "a group",
    api_key: "a key", project: "a project", env_var: "a variable", app: "an app" };
  const CONTAINERS = ["project", "org", "organization", "team", "app", "workspace", "environment"];

  function who(a) {
    if (!a) return "Someone";
    if (a.name) return a.name;
    if (a.email) return a.email;
    if (a.id) return a.type === "api_key" ? `API key ${a.id}` : `${a.type} ${a.id}`;
    return a.type === "system" ? "The system" : "Someone";
  }

  function targetName(t) {
    return t.name || t.id;
  }

  function metaString(md, key) {
    const v = md && typeof md === "object" ? md[key] : undefined;
    return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
  }

  function truncate(s, n) {
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function listText(ts) {
    const names = ts.map(targetName);
    return names.length < 2 ? names.join("") : names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }

  // sentence tells e in one line, as the web UI does.
  function sentence(e) {
    const pattern = SENTENCES[e.action] || GENERIC;
    const targets = e.targets || [];
    const used = targets.map(() => false);
    const claimed = {};
    for (const m of pattern.matchAll(/\{t:([a-z0-9_]+)\}/g)) {
      const typ = m[1];
      if (typ in claimed) continue;
      claimed[typ] = targets.findIndex((t, i) => t.type === typ && !used[i]);
      if (claimed[typ] >= 0) used[claimed[typ]] = true;
    }
    return pattern.replace(/\{([a-z_]+(?::[A-Za-z0-9_.-]+)?)\}/g, (_, ph) => {
      if (ph === "actor") return who(e.actor);
      if (ph.startsWith("t:")) {
        const typ = ph.slice(2);
        if (claimed[typ] >= 0) return targetName(targets[claimed[typ]]);
        return FALLBACKS[typ] || "a " + typ.replace(/_/g, " ");
      }
      if (ph === "targets") {
        const rest = targets.filter((t, i) => !used[i]);
        return rest.length ? listText(rest) : "nothing named";
      }
      if (ph === "in") {
        const i = targets.findIndex((t, j) => !used[j] && CONTAINERS.includes(t.type));
        if (i < 0) return "";
        used[i] = true;
        return ` in ${targets[i].type.replace(/_/g, " ")} ${targetName(targets[i])}`;
      }
      if (ph === "fields") {
        const names = (e.changes || []).map((c) => c.field);
        return names.length ? ` (${names.join(", ")})` : "";
      }
      if (ph === "from") {
        const l = e.context && e.context.location;
        if (l && l.city && l.country) return ` from ${l.city}, ${l.country}`;
        return l && l.country ? ` from ${l.country}` : "";
      }
      if (ph === "auth") return e.actor && e.actor.auth && e.actor.auth.method ? ` with ${e.actor.auth.method}` : "";
      if (ph === "command") {
        const cmd = (e.output && e.output.command) || metaString(e.metadata, "command");
        return cmd ? truncate(cmd, 80) : "a command";
      }
      if (ph.startsWith("meta:")) {
        const v = metaString(e.metadata, ph.slice(5));
        return v ? ` at ${truncate(v, 40)}` : "";
      }
      if (ph === "action") return e.action;
      return "";
    });
  }

  const rtf = typeof Intl !== "undefined" && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  function relative(iso) {
    const d = new Date(iso);
    const s = (d.getTime() - Date.now()) / 1000;
    if (!rtf || Number.isNaN(s)) return iso;
    const units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [u, n] of units) if (Math.abs(s) >= n) return rtf.format(Math.round(s / n), u);
    return rtf.format(Math.round(s), "second");
  }

  function timeEl(iso) {
    const d = new Date(iso);
    return el("time", { datetime: iso, title: Number.isNaN(d.getTime()) ? iso : d.toLocaleString(), part: "time" }, relative(iso));
  }

  class HashtrailLog extends HTMLElement {
    static get observedAttributes() {
      return ["token", "server", "tenant", "heading"];
    }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: "open" });
      this.cursor = "";
      this.q = "";
      this.loading = false;
      this.seq = 0; // guards against answers to superseded requests
    }

    connectedCallback() {
      if (!this.built) this.build();
      this.reload();
    }

    attributeChangedCallback(name, old, val) {
      if (this.built && old !== val) {
        if (name === "heading") this.titleEl.textContent = val || "Activity";
        else this.reload();
      }
    }

    get server() {
      return (this.getAttribute("server") || new URL(scriptURL).origin).replace(/\/+$/, "");
    }

    get token() {
      return this.getAttribute("token") || "";
    }

    get tenant() {
      return this.getAttribute("tenant") || claimsOf(this.token).t || "";
    }

    build() {
      this.built = true;
      const uid = Math.random().toString(36).slice(2, 8);
      this.titleEl = el("h2", { part: "title", id: `t${uid}` }, this.getAttribute("heading") || "Activity");
      this.input = el("input", { id: `q${uid}`, type: "search", name: "q", part: "input", autocomplete: "off", spellcheck: "false",
        list: `s${uid}`, placeholder: "Search, e.g. action:user.login -outcome:success" });
      // Qualifier suggestions (the search syntax of docs/search.md).
      const suggest = el("datalist", { id: `s${uid}` });
      for (const v of ["action:", "actor:", "target:", "category:", "outcome:failure", "-outcome:success",
        "severity:>=high", "created:>=", "tag:"]) suggest.append(el("option", { value: v }));
      this.form = el("form", { role: "search", part: "search" },
        el("label", { for: `q${uid}`, class: "sr", part: "label" }, "Search these events"),
        this.input, suggest, el("button", { type: "submit", part: "button" }, "Search"));
      this.form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        this.q = this.input.value.trim();
        this.reload();
      });
      this.status = el("p", { class: "status", part: "status", role: "status", "aria-live": "polite" });
      this.list = el("div", { class: "feed", part: "list", role: "feed", "aria-labelledby": `t${uid}`, "aria-busy": "false" });
      this.list.addEventListener("keydown", (ev) => this.onKey(ev));
      this.moreBtn = el("button", { type: "button", class: "plain", part: "more button" }, "Load more");
      this.moreBtn.addEventListener("click", () => this.load());
      this.moreBox = el("div", { class: "more", hidden: true }, this.moreBtn);
      this.feed = el("div", {}, this.status, this.list, this.moreBox);
      this.detail = el("div", { class: "detail", part: "detail", hidden: true, role: "region", "aria-label": "Event details" });
      this.detail.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape") this.closeDetail();
      });
      const box = el("section", { class: "box", part: "container", "aria-labelledby": `t${uid}` },
        el("header", { part: "header" }, this.titleEl, this.form), this.feed, this.detail);
      // A constructed style sheet, not a <style> element: a host page whose
      // Content-Security-Policy forbids inline styles still styles the
      // viewer.
      if ("adoptedStyleSheets" in Document.prototype && typeof CSSStyleSheet.prototype.replaceSync === "function") {
        if (!sheet) {
          sheet = new CSSStyleSheet();
          sheet.replaceSync(CSS);
        }
        this.root.adoptedStyleSheets = [sheet];
        this.root.append(box);
      } else {
        const style = el("style");
        style.textContent = CSS;
        this.root.append(style, box);
      }
    }

    headers() {
      return { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    }

    async api(path) {
      let res;
      try {
        res = await fetch(this.server + path, { headers: this.headers(), mode: "cors", credentials: "omit" });
      } catch {
        // A refusal without CORS headers (a bad token, another origin)
        // looks like a network error to the page: say what is likely.
        const exp = Number(claimsOf(this.token).exp || 0);
        if (exp && exp * 1000 < Date.now()) {
          const err = new Error(`This viewer token expired at ${new Date(exp * 1000).toLocaleString()}; reload the page for a new one.`);
          err.expired = true;
          throw err;
        }
        throw new Error("Hashtrail could not be reached, or refused this page (is its origin in the token's allowed_origins?).");
      }
      let body = null;
      try {
        body = await res.json();
      } catch {
        /* not JSON */
      }
      if (!res.ok) {
        const fieldMsg = body && body.errors && body.errors[0] ? `${body.errors[0].field}: ${body.errors[0].message}` : "";
        const msg = fieldMsg || (body && (body.detail || body.title)) || `HTTP ${res.status}`;
        const err = new Error(res.status === 401 ? "This viewer token was refused: it may have expired or been revoked." : msg);
        err.status = res.status;
        err.expired = res.status === 401;
        throw err;
      }
      return body;
    }

    reload() {
      if (!this.built) return;
      this.cursor = "";
      this.list.replaceChildren();
      this.closeDetail(false);
      if (!this.token || !this.tenant) {
        this.setStatus("No viewer token: set the token attribute.", true);
        return;
      }
      this.load();
    }

    // fail shows an error and tells the host page, which may mint a new
    // token when detail.expired and set the token attribute.
    fail(err) {
      this.setStatus(err.message, true);
      this.dispatchEvent(new CustomEvent("hashtrail-error", { bubbles: true, composed: true,
        detail: { message: err.message, status: err.status || 0, expired: !!err.expired } }));
    }

    setStatus(text, error = false) {
      this.status.textContent = text;
      this.status.classList.toggle("error", error);
    }

    async load() {
      const my = ++this.seq;
      const size = Math.min(Math.max(parseInt(this.getAttribute("page-size"), 10) || 25, 1), 200);
      const p = new URLSearchParams({ limit: String(size) });
      if (this.q) p.set("q", this.q);
      if (this.cursor) p.set("cursor", this.cursor);
      this.list.setAttribute("aria-busy", "true");
      this.moreBtn.disabled = true;
      if (!this.list.children.length) this.setStatus("Loading…");
      try {
        const page = await this.api(`/v1/tenants/${encodeURIComponent(this.tenant)}/events?${p}`);
        if (my !== this.seq) return;
        const evs = page.events || [];
        for (const e of evs) this.list.append(this.item(e));
        this.cursor = page.next_cursor || "";
        this.moreBox.hidden = !this.cursor;
        this.setStatus(this.list.children.length ? "" : this.q ? "No events match this search." : "No events yet.");
      } catch (e) {
        if (my === this.seq) this.fail(e);
      } finally {
        if (my === this.seq) {
          this.list.setAttribute("aria-busy", "false");
          this.moreBtn.disabled = false;
        }
      }
    }

    item(e) {
      const badges = [];
      if (e.outcome === "failure") badges.push(el("span", { class: "badge failure", part: "badge" }, "failed"));
      if (e.severity === "high" || e.severity === "critical") badges.push(el("span", { class: `badge ${e.severity}`, part: "badge" }, e.severity));
      const meta = el("p", { class: "meta" }, `${e.action} · ${e.category || "resource"}`);
      const art = el("article", { tabindex: "-1", part: "item", "aria-label": sentence(e), "aria-setsize": "-1",
        "aria-posinset": String(this.list.children.length + 1), "data-id": e.id, "data-seq": e.seq },
        icon(e.category),
        el("div", {}, el("p", { class: "sentence", part: "sentence" }, sentence(e), ...badges), meta),
        timeEl(e.time));
      art.addEventListener("click", () => this.openDetail(e, art));
      if (!this.list.querySelector('article[tabindex="0"]')) art.tabIndex = 0;
      return art;
    }

    articles() {
      return Array.from(this.list.querySelectorAll("article"));
    }

    focusArticle(a) {
      for (const x of this.articles()) x.tabIndex = x === a ? 0 : -1;
      a.focus();
    }

    onKey(ev) {
      const arts = this.articles();
      const i = arts.indexOf(this.root.activeElement);
      if (i < 0) return;
      let next = null;
      switch (ev.key) {
        case "ArrowDown":
        case "j":
        case "PageDown":
          next = arts[Math.min(i + 1, arts.length - 1)];
          if (i === arts.length - 1 && this.cursor) this.load();
          break;
        case "ArrowUp":
        case "k":
        case "PageUp":
          next = arts[Math.max(i - 1, 0)];
          break;
        case "Home":
          next = arts[0];
          break;
        case "End":
          next = arts[arts.length - 1];
          break;
        case "Enter":
        case " ":
          ev.preventDefault();
          arts[i].click();
          return;
        default:
          return;
      }
      ev.preventDefault();
      this.focusArticle(next);
    }

    closeDetail(focus = true) {
      if (!this.detail || this.detail.hidden) return;
      this.detail.hidden = true;
      this.detail.replaceChildren();
      this.feed.hidden = false;
      this.form.hidden = false;
      if (focus && this.opener && this.opener.isConnected) this.focusArticle(this.opener);
    }

    openDetail(e, opener) {
      this.opener = opener;
      const back = el("button", { type: "button", class: "plain", part: "back button" }, "← Back to the list");
      back.addEventListener("click", () => this.closeDetail());
      const fields = el("dl", { part: "fields" });
      const add = (name, value) => {
        if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
        const dd = el("dd");
        if (value instanceof Node) dd.append(value);
        else dd.textContent = String(value);
        fields.append(el("dt", {}, name), dd);
      };
      add("Description", e.description);
      add("Action", e.action);
      add("Category", e.category);
      add("Outcome", e.outcome);
      add("Severity", e.severity);
      add("When", timeEl(e.time));
      add("Exact time", e.time);
      if (e.actor) add("Actor", [who(e.actor), e.actor.email && e.actor.email !== who(e.actor) ? e.actor.email : "", `(${e.actor.type} ${e.actor.id})`].filter(Boolean).join(" "));
      add("Targets", (e.targets || []).map((t) => `${targetName(t)} (${t.type}:${t.id})`).join(", "));
      add("Reason", e.reason);
      add("Error", e.error);
      if (e.context) {
        const c = e.context;
        const loc = c.location ? [c.location.city, c.location.region, c.location.country].filter(Boolean).join(", ") : "";
        add("Where", loc);
        add("Source", [c.source, c.method, c.path].filter(Boolean).join(" "));
        add("Address", c.ip);
        add("Device", c.user_agent);
      }
      if (e.changes && e.changes.length) {
        add("Changes", el("pre", {}, e.changes.map((ch) => ch.redacted ? `${ch.field}: (secret, redacted)` :
          `${ch.field}: ${JSON.stringify(ch.old)} → ${JSON.stringify(ch.new)}`).join("\n")));
      }
      if (e.metadata && Object.keys(e.metadata).length) add("Details", el("pre", {}, JSON.stringify(e.metadata, null, 2)));
      add("Tags", (e.tags || []).join(", "));
      add("Position in log", e.seq);
      const hidden = claimsOf(this.token).h;
      const note = hidden && hidden.length ? el("p", { class: "hidden-note" }, `Hidden from this view: ${hidden.join(", ")}.`) : null;
      const receipt = el("div", { class: "receipt", part: "receipt", role: "status", "aria-live": "polite", "data-state": "checking" },
        "Checking this event's inclusion proof in your browser…");
      const heading = el("h3", { tabindex: "-1" }, sentence(e));
      this.detail.replaceChildren(back, heading, fields, note || "", receipt);
      this.feed.hidden = true;
      this.form.hidden = true;
      this.detail.hidden = false;
      heading.focus(); // the new view's title, read first by screen readers
      this.verify(e, receipt);
    }

    // receiptButton downloads the event's offline receipt (C2SP
    // tlog-proof@v1: the leaf, the inclusion proof and the signed
    // checkpoint), which any tlog-proof verifier checks with the log's key.
    receiptButton(e) {
      const btn = el("button", { type: "button", class: "plain", part: "download button" }, "Download the receipt");
      btn.addEventListener("click", async () => {
        try {
          const res = await fetch(`${this.server}/v1/tenants/${encodeURIComponent(this.tenant)}/events/${encodeURIComponent(e.id)}/receipt`,
            { headers: { Authorization: `Bearer ${this.token}` }, mode: "cors", credentials: "omit" });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          const url = URL.createObjectURL(new Blob([await res.text()], { type: "text/plain" }));
          const a = el("a", { href: url, download: `${e.id}.tlog-proof` });
          this.root.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
        } catch (err) {
          btn.textContent = `The receipt could not be downloaded (${err.message}).`;
        }
      });
      return btn;
    }

    async verify(e, box) {
      const show = (state, text) => {
        box.setAttribute("data-state", state);
        box.textContent = text;
      };
      let V;
      try {
        V = await import(new URL("verify.js?embed", scriptURL).href);
      } catch {
        show("unavailable", "Verification unavailable: verify.js could not be loaded.");
        return;
      }
      if (!V.cryptoAvailable()) {
        show("unavailable", V.describe(await V.verifyEventProof(null)));
        return;
      }
      try {
        const answer = await this.api(`/v1/tenants/${encodeURIComponent(this.tenant)}/events/${encodeURIComponent(e.id)}?proof=true&wait=5s`);
        const pinned = (this.getAttribute("log-key") || "").split(/\s+/).filter(Boolean);
        let keys = pinned;
        if (!keys.length) {
          const res = await fetch(this.server + "/v1/log/keys", { mode: "cors", credentials: "omit" });
          if (!res.ok) throw new Error(`the log keys could not be loaded (HTTP ${res.status})`);
          keys = (await res.text()).split("\n").filter(Boolean);
        }
        const cpOrigin = String(answer.checkpoint || "").split("\n")[0];
        const origin = this.getAttribute("log-origin") || (cpOrigin.endsWith("/" + this.tenant) ? cpOrigin : `${new URL(this.server).host}/${this.tenant}`);
        const out = await V.verifyEventProof(answer, { keys, origin });
        let text = V.describe(out);
        if (out.state === V.VERIFIED && !pinned.length) text += " (The key is the one this server publishes; pin it with log-key.)";
        show(out.state, text);
        if (out.state === V.VERIFIED && !out.leafOnly) box.after(this.receiptButton(e));
      } catch (err) {
        show("unavailable", `Verification unavailable: ${err.message}`);
      }
    }
  }

  customElements.define("hashtrail-log", HashtrailLog);
})();
