// The dashboard: a small single-page app over the public HTTP API (/api/v5), nothing else.
"use strict";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let token = sessionStorage.getItem("starling-token");
let timer = null; // the overview's refresh

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : String(k ?? ""));
  return e;
}

async function api(method, path, body) {
  const r = await fetch("/api/v5" + path, {
    method,
    headers: Object.assign({ "Content-Type": "application/json", Accept: "application/json" },
                           token ? { Authorization: "Bearer " + token } : {}),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401 && path !== "/login") { logout(); throw new Error("logged out"); }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((data && (data.message || data.code)) || "HTTP " + r.status);
  return data;
}

// The config endpoints speak HOCON text: the answer's text, or an Error with the API's message.
async function apiText(method, path, body) {
  const r = await fetch("/api/v5" + path, {
    method,
    headers: { "Content-Type": "text/plain", Accept: "text/plain", Authorization: "Bearer " + token },
    body,
  });
  if (r.status === 401) { logout(); throw new Error("logged out"); }
  const text = await r.text();
  if (!r.ok) {
    let msg = "HTTP " + r.status;
    try { msg = JSON.parse(text).message || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return text;
}

function table(cols, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c[0])))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...cols.map((c) => el("td", {}, c[1](r)))))));
}

function show(title, ...kids) {
  main.replaceChildren(el("h2", {}, title), ...kids);
}

function failed(e) {
  main.append(el("p", { class: "error" }, e.message));
}

// ---- login --------------------------------------------------------------------------------
function login() {
  nav.hidden = true;
  const msg = el("p", { class: "error", id: "login-error" });
  const form = el("form", { class: "login", id: "login" },
    el("label", {}, "Username", el("input", { name: "username", autocomplete: "username" })),
    el("label", {}, "Password",
       el("input", { name: "password", type: "password", autocomplete: "current-password" })),
    el("button", { type: "submit" }, "Log in"), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/login",
                          { username: form.username.value, password: form.password.value });
      token = r.token;
      sessionStorage.setItem("starling-token", token);
      location.hash = "#/overview";
      route();
    } catch (e) { msg.textContent = e.message; }
  });
  main.replaceChildren(el("h2", {}, "Log in"), form);
}

function logout() {
  token = null;
  sessionStorage.removeItem("starling-token");
  login();
}
document.getElementById("logout").addEventListener("click", () => {
  api("POST", "/logout", {}).catch(() => {});
  logout();
});

// ---- overview: nodes, figures, message rates ------------------------------------------------
const rates = []; // [received/s, sent/s]
let last = null;

function chart(canvas) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...rates.flat());
  ["#2f6fde", "#e07b00"].forEach((color, k) => {
    g.strokeStyle = color;
    g.beginPath();
    rates.forEach((r, i) => {
      const x = (i / 59) * w, y = h - (r[k] / max) * (h - 10);
      if (i) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  });
  g.fillStyle = "#1d2330";
  g.fillText("max " + Math.round(max) + " msg/s  (blue: received, orange: sent)", 8, 14);
}

async function overview() {
  const nodes = el("div", { id: "nodes" }), cards = el("div", { class: "cards", id: "figures" });
  const canvas = el("canvas", { id: "rates", width: 640, height: 180 });
  show("Overview", cards, el("h3", {}, "Nodes"), nodes, el("h3", {}, "Message rates"), canvas);
  async function refresh() {
    const [info, stats, m] = await Promise.all([api("GET", "/cluster"),
      api("GET", "/stats?aggregate=true"), api("GET", "/metrics?aggregate=true")]);
    nodes.replaceChildren(table([["Node", (n) => n.node], ["Role", (n) => n.role],
                                 ["State", (n) => n.state]], info.members));
    cards.replaceChildren(...[["Nodes", info.members.length],
      ["Connections", stats["connections.count"]], ["Sessions", stats["sessions.count"]],
      ["Subscriptions", stats["subscriptions.count"]], ["Retained", stats["retained.count"]]]
      .map(([k, v]) => el("div", { class: "card" }, k, el("b", {}, v))));
    const now = Date.now();
    if (last) {
      const s = (now - last.at) / 1000;
      rates.push([(m["messages.received"] - last.rx) / s, (m["messages.sent"] - last.tx) / s]);
      if (rates.length > 60) rates.shift();
    }
    last = { at: now, rx: m["messages.received"], tx: m["messages.sent"] };
    chart(canvas);
  }
  await refresh();
  timer = setInterval(() => refresh().catch(() => {}), 2000);
}

// ---- clients --------------------------------------------------------------------------------
async function clients() {
  const q = el("input", { id: "client-search", placeholder: "client id contains..." });
  const out = el("div", { id: "client-list" });
  async function search() {
    const p = q.value ? "?like_clientid=" + encodeURIComponent(q.value) : "";
    const r = await api("GET", "/clients" + p);
    out.replaceChildren(table([
      ["Client ID", (c) => el("a", { href: "#/client/" + encodeURIComponent(c.clientid) },
                               c.clientid)],
      ["Username", (c) => c.username ?? ""], ["Node", (c) => c.node],
      ["Connected", (c) => (c.connected ? "yes" : "no")], ["IP", (c) => c.ip_address ?? ""],
      ["Subscriptions", (c) => c.subscriptions_cnt], ["Queue", (c) => c.mqueue_len],
    ], r.data), el("p", {}, r.meta.count !== undefined ? r.meta.count + " in all" : ""));
  }
  show("Clients", el("form", { onsubmit: (e) => { e.preventDefault(); search().catch(failed); } },
                      q, el("button", { type: "submit", id: "client-search-go" }, "Search")), out);
  await search();
}

async function client(id) {
  const [c, subs] = await Promise.all([api("GET", "/clients/" + encodeURIComponent(id)),
    api("GET", "/clients/" + encodeURIComponent(id) + "/subscriptions")]);
  const status = el("p", { id: "kick-status" });
  const kick = el("button", { id: "kick", onclick: async () => {
    try {
      await api("DELETE", "/clients/" + encodeURIComponent(id));
      status.className = "ok";
      status.textContent = "Kicked out.";
    } catch (e) { status.className = "error"; status.textContent = e.message; }
  } }, "Kick out");
  show("Client " + id,
    table([["Field", (r) => r[0]], ["Value", (r) => r[1]]], Object.entries(c)),
    el("h3", {}, "Subscriptions"),
    table([["Topic", (s) => s.topic], ["QoS", (s) => s.qos]], subs), kick, status);
}

// ---- the other lists ------------------------------------------------------------------------
async function listPage(title, path, cols) {
  const r = await api("GET", path);
  show(title, table(cols, Array.isArray(r) ? r : r.data));
}

async function listeners() {
  const r = await api("GET", "/listeners");
  const act = (id, op) => el("button", { onclick: async () => {
    try { await api("POST", "/listeners/" + encodeURIComponent(id) + "/" + op, {}); listeners(); }
    catch (e) { failed(e); }
  } }, op);
  show("Listeners", table([["ID", (l) => l.id], ["Bind", (l) => l.bind],
    ["Running", (l) => (l.status.running ? "yes" : "no")],
    ["Connections", (l) => l.status.current_connections],
    ["", (l) => el("span", {}, act(l.id, "stop"), " ", act(l.id, "start"))]], r));
}

// A form of inputs (name -> attributes) whose submit runs act(values); its status line says
// what came back. Every page that changes something is built from these.
function form(id, fields, label, act) {
  const status = el("span", { id: id + "-status" });
  const inputs = Object.entries(fields).map(([name, attrs]) =>
    attrs.choices ? el("select", { name }, ...attrs.choices.map((c) => el("option", { value: c }, c)))
                  : el("input", Object.assign({ name, placeholder: name }, attrs)));
  const f = el("form", { id, class: "inline" }, ...inputs,
               el("button", { type: "submit" }, label), status);
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = Object.fromEntries(inputs.map((i) => [i.name, i.value]));
    try {
      status.className = "ok";
      status.textContent = (await act(v)) || "Done.";
    } catch (e) { status.className = "error"; status.textContent = e.message; }
  });
  return f;
}

function remove(label, path) {
  return el("button", { class: "del", "data-path": path, onclick: async () => {
    try { await api("DELETE", path); route(); } catch (e) { failed(e); }
  } }, label);
}

const ACL = "/authorization/sources/built_in_database/rules";

async function aclSection() {
  let users;
  try { users = await api("GET", ACL + "/users?limit=1000"); } catch (e) {
    return [el("h3", {}, "ACL rules (built-in database)"), el("p", {}, e.message)];
  }
  const rules = (r) => r.rules.map((x) => x.permission + " " + x.action + " " + x.topic).join("; ");
  return [el("h3", {}, "ACL rules (built-in database), by username"),
    table([["Username", (r) => r.username], ["Rules", rules],
           ["", (r) => remove("Delete", ACL + "/users/" + encodeURIComponent(r.username))]],
          users.data),
    form("acl-add", { username: {}, topic: {}, permission: { choices: ["allow", "deny"] },
                      action: { choices: ["all", "publish", "subscribe"] } }, "Add rule",
      async (v) => {
        const had = users.data.find((r) => r.username === v.username);
        const rule = { topic: v.topic, permission: v.permission, action: v.action };
        if (had) await api("PUT", ACL + "/users/" + encodeURIComponent(v.username),
                           { username: v.username, rules: had.rules.concat([rule]) });
        else await api("POST", ACL + "/users", [{ username: v.username, rules: [rule] }]);
        route();
      })];
}

async function access() {
  const [users, keys, bans] = await Promise.all([api("GET", "/users"), api("GET", "/api_key"),
                                                 api("GET", "/banned")]);
  show("Access",
    el("h3", {}, "Dashboard users"),
    table([["Username", (u) => u.username], ["Description", (u) => u.description ?? ""],
           ["", (u) => remove("Delete", "/users/" + encodeURIComponent(u.username))]],
          users.data ?? users),
    form("user-add", { username: {}, password: { type: "password" } }, "Add user", async (v) => {
      await api("POST", "/users", v);
      route();
    }),
    el("h3", {}, "API keys"),
    table([["Name", (k) => k.name], ["Key", (k) => k.api_key], ["Enabled", (k) => k.enable],
           ["", (k) => remove("Delete", "/api_key/" + encodeURIComponent(k.name))]], keys),
    form("key-add", { name: {} }, "Make key", async (v) => {
      const k = await api("POST", "/api_key", { name: v.name, enable: true });
      return "Key " + k.api_key + ", secret " + k.api_secret + " (shown once).";
    }),
    el("h3", {}, "Banned"),
    table([["As", (b) => b.as], ["Who", (b) => b.who], ["Until", (b) => b.until ?? ""],
           ["Reason", (b) => b.reason ?? ""],
           ["", (b) => remove("Lift", "/banned/" + b.as + "/" + encodeURIComponent(b.who))]],
          bans.data ?? bans),
    form("ban-add", { as: { choices: ["clientid", "username", "peerhost"] }, who: {},
                      reason: {} }, "Ban", async (v) => { await api("POST", "/banned", v); route(); }),
    ...await aclSection());
}

async function settings() {
  const cur = await api("GET", "/log/level");
  const input = el("input", { id: "log-level", value: cur.level });
  const status = el("p", { id: "settings-status" });
  const form = el("form", { id: "settings" }, el("label", {}, "Log level (this node) ", input),
                  el("button", { type: "submit", id: "settings-save" }, "Save"), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.className = "";
    status.textContent = "";
    try {
      const r = await api("PUT", "/log/level", { level: input.value });
      status.className = "ok";
      status.textContent = "Log level is now " + r.level + ".";
    } catch (e) { status.className = "error"; status.textContent = e.message; }
  });
  show("Settings", form);
}

// The cluster's config, a root at a time, as HOCON: saved as a change every node takes.
async function config(root) {
  const roots = Object.keys(await api("GET", "/configs")).sort();
  root = roots.includes(root) ? root : "mqtt";
  const pick = el("select", { id: "config-root" }, ...roots.map((r) => {
    const o = el("option", { value: r }, r);
    if (r === root) o.setAttribute("selected", "");
    return o;
  }));
  pick.addEventListener("change", () => { location.hash = "#/config/" + pick.value; });
  const text = el("textarea", { id: "config-text", rows: 24, cols: 90, spellcheck: "false" });
  text.value = await apiText("GET", "/configs?key=" + encodeURIComponent(root));
  const status = el("p", { id: "config-status" });
  const form = el("form", { id: "config" }, el("label", {}, "Root ", pick), text,
                  el("button", { type: "submit", id: "config-save" }, "Save to the cluster"), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.className = "";
    status.textContent = "";
    try {
      const r = JSON.parse(await apiText("PUT", "/configs?mode=merge", text.value));
      status.className = "ok";
      status.textContent = (r.changed.length ? "Changed: " + r.changed.join(", ") + "."
                                             : "Nothing changed.") +
        (r.restart_required.length ? " Waiting for a restart: " + r.restart_required.join(", ") + "."
                                   : "");
    } catch (e) { status.className = "error"; status.textContent = e.message; }
  });
  show("Config", el("p", {}, "Changes go to every node and are kept across restarts; " +
                    "the node's environment overrides them."), form);
}

const pages = {
  overview,
  clients,
  client,
  subscriptions: () => listPage("Subscriptions", "/subscriptions", [
    ["Client ID", (s) => s.clientid], ["Topic", (s) => s.topic], ["QoS", (s) => s.qos],
    ["Node", (s) => s.node]]),
  topics: () => listPage("Topics", "/topics", [["Topic", (t) => t.topic], ["Node", (t) => t.node]]),
  retained: () => listPage("Retained messages", "/mqtt/retainer/messages", [
    ["Topic", (m) => m.topic], ["QoS", (m) => m.qos], ["Stored", (m) => m.publish_at ?? ""]]),
  listeners,
  access,
  alarms: () => listPage("Alarms", "/alarms", [["Node", (a) => a.node], ["Name", (a) => a.name],
    ["Message", (a) => a.message], ["Since", (a) => a.activate_at]]),
  settings,
  config,
};

function route() {
  if (timer) { clearInterval(timer); timer = null; }
  if (!token) return login();
  nav.hidden = false;
  const [, name, arg] = (location.hash || "#/overview").split("/");
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("on", a.hash === "#/" + name);
  const page = pages[name] || overview;
  page(arg && decodeURIComponent(arg)).catch(failed);
}
window.addEventListener("hashchange", route);
route();
