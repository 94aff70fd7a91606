// The local console: one page per view, hash-routed (#logs?query=...), each polling the
// console's JSON calls (api.py). preact + htm: components with tagged templates, no build step.
import { html, render, useState, useEffect, useRef } from "./vendor/htm-preact-standalone.module.js";

const API = "/_localcloud/api/";
const FAULTS = "/_localcloud/faults";
// Calls that change something carry this header (api.py says why).
const MUTATE = { "X-Localcloud-Console": "1" };

async function call(path, options = {}) {
  const resp = await fetch(path, options);
  const type = resp.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    const error = new Error((body && body.error) || `HTTP ${resp.status}`);
    error.body = typeof body === "object" ? body : null;  // a ROS refusal's code and parameter
    throw error;
  }
  return body;
}
const send = (method, path, body, headers = {}) =>
  call(path, { method, body, headers: { ...MUTATE, ...headers } });
const sendJson = (method, path, value) =>
  send(method, path, JSON.stringify(value), { "Content-Type": "application/json" });

// Load `url` now and every `every` ms while `live`; [data, error, reload].
function usePoll(url, every, live = true) {
  const [state, setState] = useState({ data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let gone = false;
    const load = () => call(url).then(
      (data) => !gone && setState({ data, error: null }),
      (error) => !gone && setState((s) => ({ data: s.data, error: error.message })));
    load();
    const timer = live && every ? setInterval(load, every) : null;
    return () => { gone = true; if (timer) clearInterval(timer); };
  }, [url, every, live, tick]);
  return [state.data, state.error, () => setTick((t) => t + 1)];
}

const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString();
const Problem = ({ error }) => error && html`<div class="notice error">${error}</div>`;

function parseHash() {
  const [page, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { page: page || "overview", params: Object.fromEntries(new URLSearchParams(query)) };
}
const link = (page, params = {}) => {
  const query = new URLSearchParams(params).toString();
  return `#${page}${query ? "?" + query : ""}`;
};

// -- Overview -------------------------------------------------------------------------------
function Overview() {
  const [data, error] = usePoll(API + "overview", 3000);
  if (!data) return html`<${Problem} error=${error} />`;
  return html`
    <${Problem} error=${error} />
    <section id="functions"><h2>Functions</h2>
      <table><tr><th>function</th><th>trigger</th><th>runtime</th><th>instances</th>
        <th>last invocation</th></tr>
        ${data.functions.map((f) => html`<tr>
          <td>${f.service}/<b>${f.function}</b></td><td>${f.trigger}</td><td>${f.runtime}</td>
          <td>${f.instances.length
            ? html`<span class="warm">${f.instances.length} warm</span>
                   <span class="muted"> (${f.instances.map((i) => `${i.inflight} busy, idle ${i.idleSeconds} s`).join("; ")})</span>`
            : html`<span class="cold">none: the next call starts cold</span>`}</td>
          <td>${f.lastInvocation
            ? html`${clock(f.lastInvocation.time)} ${f.lastInvocation.op} →
                   ${f.lastInvocation.outcome}, ${Math.round(f.lastInvocation.latency_ms)} ms,
                   ${f.lastInvocation.cold ? "cold" : "warm"}`
            : html`<span class="muted">never</span>`}</td></tr>`)}
      </table>
      ${data.reloads !== null && html`<p class="muted">Code reloads since start: ${data.reloads}
        (editing functions/ or shared/ rebuilds and recycles the instances).</p>`}
    </section>
    <div class="grid">
      <section><h2>Endpoints</h2><table>
        ${Object.entries(data.endpoints).map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${v}</td></tr>`)}
        ${Object.entries(data.names).map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${v}</td></tr>`)}
        <tr><th>account</th><td class="mono">${data.account.accountId} (${data.account.region})</td></tr>
        <tr><th>root key id</th><td class="mono">${data.account.rootKeyId}
          <span class="muted">(its secret is in .local/cloud.json, never shown here)</span></td></tr>
      </table></section>
      <section><h2>Client config (client-config/local.json)</h2>
        <pre class="mono">${JSON.stringify(data.clientConfig, null, 2)}</pre></section>
    </div>`;
}

// -- Users ----------------------------------------------------------------------------------
function Users() {
  const [data, error, reload] = usePoll(API + "users", 0);
  const [result, setResult] = useState(null);
  const act = async (label, promise) => {
    try { setResult({ label, value: await promise }); } catch (e) { setResult({ label, error: e.message }); }
    reload();
  };
  return html`
    <${Problem} error=${error} />
    <section><h2>Sandbox users</h2>
      <div class="toolbar">
        <button onClick=${() => act("new user", send("POST", API + "users"))}>New user</button>
        <span class="muted">A user appears here once an auth code was minted for it.</span>
      </div>
      ${result && html`<div class=${"notice" + (result.error ? " error" : "")} id="user-result">
        <b>${result.label}</b>: <span class="mono">${result.error || JSON.stringify(result.value)}</span></div>`}
      <table><tr><th>user id</th><th>nick name</th><th>city</th><th></th></tr>
        ${(data ? data.users : []).map((u) => html`<tr>
          <td class="mono">${u.userId}</td><td>${u.nickName}</td><td>${u.city}</td>
          <td><button onClick=${() => act(`auth code for ${u.userId}`, send("POST", `${API}users/${u.userId}/auth-code`))}>Mint auth code</button>
              ${" "}<button onClick=${() => act(`session as ${u.userId}`, send("POST", `${API}users/${u.userId}/session`))}>Open session</button>
              ${u.files.bucket && html`${" "}<a class="user-files" href=${link("files", u.files)}>Files</a>`}</td>
        </tr>`)}
      </table></section>`;
}

// -- Data -----------------------------------------------------------------------------------
// The db function keeps a count per (user, collection) beside the items, keyed `<collection>!`
// (items are `<collection>#<id>`): shown in a table of their own.
const isTally = (row) => Object.values(row.key).some((v) => typeof v === "string" && v.endsWith("!"));
// Times the functions store as epoch milliseconds (createdAt, updatedAt, expiresAt, ...).
const isTime = (name, value) => typeof value === "number" && /(At|Time|time)$/.test(name) && value > 1e11;
const shown = (name, value) => isTime(name, value)
  ? new Date(value).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : String(value);

function RowTable({ id, rows, primaryKey }) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r.columns)))].sort();
  return html`<table id=${id}><tr>
      ${primaryKey.map((k) => html`<th>${k} <span class="muted">(key)</span></th>`)}
      ${columns.map((c) => html`<th>${c}</th>`)}</tr>
    ${rows.map((r) => html`<tr>
      ${primaryKey.map((k) => html`<td class="mono">${String(r.key[k])}</td>`)}
      ${columns.map((c) => html`<td class="mono" title=${c in r.columns ? String(r.columns[c]) : ""}>${c in r.columns ? shown(c, r.columns[c]) : ""}</td>`)}
    </tr>`)}</table>`;
}

function Data({ params }) {
  const [tables, error] = usePoll(API + "tables", 5000);
  const table = params.table || (tables && tables.tables[0] && tables.tables[0].name);
  const offset = Number(params.offset || 0);
  const [pk, setPk] = useState(params.pk || "");
  const limit = 20;
  const url = table && `${API}tables/${encodeURIComponent(table)}/rows?` +
    new URLSearchParams({ offset, limit, pk: params.pk || "" });
  const [rows, rowsError] = usePoll(url || API + "tables", 3000, Boolean(url));
  const go = (changes) => { location.hash = link("data", { table, pk: params.pk || "", offset, ...changes }); };
  return html`
    <${Problem} error=${error || rowsError} />
    <section><h2>Tablestore instance ${tables && tables.instance}</h2>
      <div class="toolbar">${(tables ? tables.tables : []).map((t) => html`
        <button class=${t.name === table ? "active" : ""} onClick=${() => { location.hash = link("data", { table: t.name }); }}>
          ${t.name} (${t.rows}${t.countCut ? "+" : ""})</button>`)}</div>
      ${table === "session" && html`<p class="muted">Sessions are keyed by the SHA-256 of the
        session id; the id itself is never stored, and the encrypted Alipay tokens are not shown.</p>`}
      <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); go({ pk, offset: 0 }); }}>
        <input class="wide" placeholder="text in the primary key" value=${pk}
               onInput=${(e) => setPk(e.target.value)} name="pk" />
        <button type="submit">Filter</button>
        ${rows && html`<span class="muted">rows ${rows.total ? offset + 1 : 0}–${Math.min(offset + limit, rows.total)} of ${rows.total}</span>`}
        <button type="button" disabled=${offset === 0} onClick=${() => go({ offset: Math.max(0, offset - limit) })}>Previous</button>
        <button type="button" disabled=${!rows || offset + limit >= rows.total} onClick=${() => go({ offset: offset + limit })}>Next</button>
      </form>
      ${rows && rows.rows && html`<${RowTable} id="rows" primaryKey=${rows.primaryKey}
          rows=${rows.rows.filter((r) => !isTally(r))} />`}
      ${rows && rows.rows && rows.rows.some(isTally) && html`<h3>Tallies</h3>
        <p class="muted">The db function's count of each user's items per collection (key
          <span class="mono">collection!</span>), kept beside the items.</p>
        <${RowTable} id="tallies" primaryKey=${rows.primaryKey} rows=${rows.rows.filter(isTally)} />`}
    </section>`;
}

// -- Logs -----------------------------------------------------------------------------------
function Logs({ params }) {
  const [query, setQuery] = useState(params.query || "");
  const [live, setLive] = useState(true);
  const [minutes, setMinutes] = useState(60);
  const url = `${API}logs?` + new URLSearchParams({ query: params.query || "", minutes, limit: 100 });
  const [data, error] = usePoll(url, 2000, live);
  return html`
    <section><h2>Log Service ${data && `${data.project} / ${data.logstore}`}, newest first</h2>
      <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); location.hash = link("logs", query ? { query } : {}); }}>
        <input class="wide" name="query" value=${query} onInput=${(e) => setQuery(e.target.value)}
               placeholder="message.kind: invocation and not message.outcome: ok" />
        <button type="submit">Search</button>
        <select value=${minutes} onChange=${(e) => setMinutes(e.target.value)}>
          ${[15, 60, 360, 1440, 10080].map((m) => html`<option value=${m}>last ${m < 60 ? m + " min" : m / 60 + " h"}</option>`)}
        </select>
        <label><input type="checkbox" checked=${live} onChange=${(e) => setLive(e.target.checked)} /> live</label>
      </form>
      <p class="muted">Query: words, <span class="mono">key: value</span>, wildcards
        (<span class="mono">message.op: ad*</span>; a function's record is JSON in <span class="mono">message</span>), <span class="mono">and</span> / <span class="mono">or</span> /
        <span class="mono">not</span>, parentheses. A request id opens its invocation.</p>
      <${Problem} error=${error} />
      <table id="logs"><tr><th>time</th><th>topic</th><th>record</th></tr>
        ${(data ? data.records : []).map((r) => html`<tr>
          <td class="mono">${clock(r.time)}</td><td class="mono">${r.topic}</td>
          <td class="mono">${Object.entries(r.fields).map(([k, v]) => html`<span>
            <span class="muted">${k}=</span>${k === "requestId"
              ? html`<a href=${link("invocations", { request: v })}>${v}</a>` : String(v)}${"  "}</span>`)}</td>
        </tr>`)}
      </table>
    </section>`;
}

// -- Invocations ----------------------------------------------------------------------------
function Invocations({ params }) {
  const [live, setLive] = useState(true);
  const fn = params.function || "";
  const [data, error] = usePoll(`${API}invocations?` + new URLSearchParams({ function: fn, limit: 100 }), 2000, live);
  const [overview] = usePoll(API + "overview", 0);
  const items = data ? data.invocations : [];
  return html`
    <section><h2>Recent invocations, newest first</h2>
      <div class="toolbar">
        <select value=${fn} onChange=${(e) => { location.hash = link("invocations", e.target.value ? { function: e.target.value } : {}); }}>
          <option value="">every function</option>
          ${(overview ? overview.functions : []).map((f) => html`<option value=${f.function}>${f.function}</option>`)}
        </select>
        <label><input type="checkbox" checked=${live} onChange=${(e) => setLive(e.target.checked)} /> live</label>
        ${params.request && html`<span>request <span class="mono">${params.request}</span>
          ${items.some((i) => i.request_id === params.request) ? "" : html`<span class="muted"> (not among the recent ones)</span>`}</span>`}
      </div>
      <${Problem} error=${error} />
      <table id="invocations"><tr><th>time</th><th>function</th><th>op</th><th>outcome</th>
        <th>latency</th><th>start</th><th>request id (its logs)</th></tr>
        ${items.map((i) => html`<tr class=${i.request_id === params.request ? "highlight" : ""}>
          <td class="mono">${clock(i.time)}</td><td>${i.function}</td><td class="mono">${i.op}</td>
          <td class=${"mono " + (i.outcome === "ok" || i.outcome === "200" ? "ok" : "bad")}>${i.outcome}</td>
          <td>${Math.round(i.latency_ms)} ms</td>
          <td class=${i.cold ? "cold" : "warm"}>${i.cold ? "cold" : "warm"}</td>
          <td class="mono"><a href=${link("logs", { query: `requestId: ${i.request_id}` })}>${i.request_id}</a></td>
        </tr>`)}
      </table>
    </section>`;
}

// -- Faults ---------------------------------------------------------------------------------
function Faults() {
  const [data, error, reload] = usePoll(FAULTS, 3000);
  const [form, setForm] = useState({ service: "alipay", kind: "", api: "", share: 1, seconds: 0, code: "" });
  const [problem, setProblem] = useState(null);
  const kinds = data ? data.kinds : {};
  const services = Object.keys(kinds);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    const fault = { service: form.service, kind: form.kind || Object.keys(kinds[form.service])[0],
                    share: Number(form.share), seconds: Number(form.seconds) };
    if (form.api) fault.api = form.api;
    if (form.code) fault.code = form.code;
    try { await sendJson("POST", FAULTS, fault); setProblem(null); } catch (err) { setProblem(err.message); }
    reload();
  };
  const clear = async (service) => {
    try { await send("DELETE", FAULTS + (service ? `?service=${service}` : "")); } catch (err) { setProblem(err.message); }
    reload();
  };
  const describe = (f) => [f.service, f.kind, f.api && `--api ${f.api}`, f.share !== 1 && `--share ${f.share}`,
    f.seconds && `--seconds ${f.seconds}`, f.code && `--code ${f.code}`].filter(Boolean).join(" ");
  return html`
    <${Problem} error=${error || problem} />
    <section><h2>Set a fault</h2>
      <form class="toolbar" id="fault-form" onSubmit=${submit}>
        <select name="service" value=${form.service} onChange=${(e) => setForm({ ...form, service: e.target.value, kind: "" })}>
          ${services.map((s) => html`<option value=${s}>${s}</option>`)}</select>
        <select name="kind" value=${form.kind} onChange=${set("kind")}>
          ${Object.entries(kinds[form.service] || {}).map(([k, d]) => html`<option value=${k} title=${d}>${k}</option>`)}</select>
        <input name="api" placeholder="API (all)" value=${form.api} onInput=${set("api")} />
        <label>share <input name="share" type="number" step="0.1" min="0.1" max="1" value=${form.share} onInput=${set("share")} /></label>
        <label>seconds <input name="seconds" type="number" step="0.5" min="0" value=${form.seconds} onInput=${set("seconds")} /></label>
        <input name="code" placeholder="error code (kind's own)" value=${form.code} onInput=${set("code")} />
        <button type="submit">Set fault</button>
      </form>
      <p class="muted">${(kinds[form.service] || {})[form.kind || Object.keys(kinds[form.service] || {})[0]]}</p>
    </section>
    <section><h2>Faults on</h2>
      <table id="faults">${(data ? data.faults : []).map((f) => html`<tr>
        <td class="mono">${describe(f)}</td>
        <td><button onClick=${() => clear(f.service)}>Clear ${f.service}</button></td></tr>`)}</table>
      ${data && !data.faults.length && html`<p class="muted">No fault is set.</p>`}
      <div class="toolbar"><button class="danger" onClick=${() => clear(null)}>Clear all</button>
        <span class="muted">Injected since start: ${data && Object.entries(data.injected).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}</span></div>
    </section>`;
}

// -- Stacks ---------------------------------------------------------------------------------
const statusClass = (s) => s.endsWith("_FAILED") ? "bad"
  : s === "DELETE_COMPLETE" ? "muted" : s.endsWith("_COMPLETE") ? "ok" : "cold";
const when = (seconds) => new Date(seconds * 1000).toLocaleString();
const Values = ({ values }) => Object.keys(values).length
  ? html`<table>${Object.entries(values).map(([k, v]) => html`<tr><th>${k}</th>
      <td class="mono">${typeof v === "string" ? v : JSON.stringify(v)}</td></tr>`)}</table>`
  : html`<p class="muted">none</p>`;

function Stacks() {
  const [data, error] = usePoll(API + "stacks", 3000);
  const stacks = data ? data.stacks : [];
  return html`
    <${Problem} error=${error} />
    <section><h2>ROS stacks, newest first ${data && html`<span class="muted mono">${data.endpoint}</span>`}</h2>
      <p class="muted">What <span class="mono">make deploy</span> (or any ROS client) created on this
        local cloud. Read-only; NoEcho parameters, and values named like keys or secrets, are hidden.</p>
      ${data && !stacks.length && html`<p class="muted">No stack yet.</p>`}
    </section>
    <div id="stacks">${stacks.map((s) => html`
      <section class="stack" data-stack=${s.name}>
        <h2>${s.name} <span class=${"mono " + statusClass(s.status)}>${s.status}</span></h2>
        <p class="muted">${s.reason}; created ${when(s.created)}${s.updated ? `, updated ${when(s.updated)}` : ""};
          id <span class="mono">${s.id}</span></p>
        <div class="grid">
          <div class="outputs"><h3>Outputs</h3><${Values} values=${s.outputs} /></div>
          <div class="parameters"><h3>Parameters</h3><${Values} values=${s.parameters} /></div>
        </div>
        <h3>Resources</h3>
        <table class="resources"><tr><th>logical id</th><th>type</th><th>status</th><th>reason</th></tr>
          ${s.resources.map((r) => html`<tr><td class="mono">${r.logicalId}</td><td class="mono">${r.type}</td>
            <td class=${"mono " + statusClass(r.status)}>${r.status}</td><td>${r.reason}</td></tr>`)}
        </table>
      </section>`)}</div>`;
}

// -- Create stack ---------------------------------------------------------------------------
// What the ROS console does with a one-click link (#create-stack?templateUrl=...&stackName=...):
// read the template from its URL, draw the form from its Metadata (groups, labels in the chosen
// language, NoEcho as password fields, AllowedValues as selects, defaults), create the stack
// and follow it to its outputs. ROS checks every value (api.py, create.py); its refusal shows at
// the top and beside the parameter it names.
const TEXT = {
  en: { title: "Create stack", template: "Template", name: "Stack name", create: "Create stack",
        creating: "Creating…", outputs: "Outputs", copy: "Outputs as JSON (for make client-config-from-stack OUTPUTS=...)",
        resources: "Resources", status: "Status", language: "Language" },
  "zh-cn": { title: "创建资源栈", template: "模板", name: "资源栈名称", create: "创建资源栈",
        creating: "创建中…", outputs: "输出", copy: "输出（JSON，用于 make client-config-from-stack OUTPUTS=...）",
        resources: "资源", status: "状态", language: "语言" },
};

function Field({ field, value, onChange, problem }) {
  const id = "param-" + field.key;
  const input = field.allowed_values.length
    ? html`<select id=${id} name=${field.key} value=${value} onChange=${(e) => onChange(e.target.value)}>
        ${field.allowed_values.map((v) => html`<option value=${v}>${v}</option>`)}</select>`
    : field.no_echo
      ? html`<input id=${id} name=${field.key} type="password" autocomplete="off" value=${value}
               onInput=${(e) => onChange(e.target.value)} />`
      : field.text_area
        ? html`<textarea id=${id} name=${field.key} rows="4" value=${value}
                 onInput=${(e) => onChange(e.target.value)}></textarea>`
        : html`<input id=${id} name=${field.key} class="wide" value=${value}
                 onInput=${(e) => onChange(e.target.value)} />`;
  return html`<div class=${"field" + (problem ? " invalid" : "")} data-parameter=${field.key}>
    <label for=${id}><b>${field.label}</b> <span class="muted mono">${field.key}</span></label>
    ${input}
    <div class="muted">${field.description}</div>
    ${problem && html`<div class="bad problem">${problem}</div>`}
  </div>`;
}

function CreateStack({ params }) {
  const url = params.templateUrl || "";
  const [language, setLanguage] = useState(params.lang || "en");
  const [form, setForm] = useState(null);
  const [values, setValues] = useState({});
  const [name, setName] = useState(params.stackName || "");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [stackId, setStackId] = useState(null);
  const t = TEXT[language];
  useEffect(() => {
    if (!url) { setError("no templateUrl in the link"); return; }
    sendJson("POST", API + "templates", { url, language }).then((f) => {
      setForm(f); setError(null);
      setValues((old) => {
        const next = { ...old };
        for (const g of f.groups) for (const fld of g.fields) {
          if (!(fld.key in next)) next[fld.key] = fld.default ?? (fld.allowed_values[0] || "");
        }
        return next;
      });
    }, (e) => setError(e.body || { message: e.message }));
  }, [url, language]);
  const [stacks] = usePoll(API + "stacks", 1000, Boolean(stackId));
  const stack = stackId && stacks ? stacks.stacks.find((s) => s.id === stackId) : null;
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const made = await call(API + "stacks", { method: "POST",
        headers: { ...MUTATE, "Content-Type": "application/json" },
        body: JSON.stringify({ name, templateUrl: url, parameters: values }) });
      setStackId(made.stackId);
    } catch (err) { setError(err.body || { message: err.message }); }
    setBusy(false);
  };
  const problem = (key) => error && error.parameter === key ? error.error : null;
  return html`
    <section><h2>${t.title}</h2>
      <div class="toolbar"><span class="muted">${t.template}:</span> <span class="mono" id="template-url">${url}</span>
        <label>${t.language} <select id="language" value=${language} onChange=${(e) => setLanguage(e.target.value)}>
          <option value="en">English</option><option value="zh-cn">中文</option></select></label></div>
      ${form && html`<p class="muted">${form.description} (${form.region})</p>`}
      ${error && html`<div class="notice error" id="create-error">${error.code ? error.code + ": " : ""}${error.error || error.message}</div>`}
    </section>
    ${form && !stackId && html`<form id="create-form" onSubmit=${submit}>
      <section><label for="stack-name"><b>${t.name}</b></label>
        <input id="stack-name" name="stackName" class="wide" value=${name} onInput=${(e) => setName(e.target.value)} /></section>
      ${form.groups.map((g) => html`<section class="group"><h2>${g.label}</h2>
        ${g.fields.map((f) => html`<${Field} field=${f} value=${values[f.key] ?? ""} problem=${problem(f.key)}
            onChange=${(v) => setValues({ ...values, [f.key]: v })} />`)}</section>`)}
      <div class="toolbar"><button type="submit" id="create-submit" disabled=${busy}>${busy ? t.creating : t.create}</button></div>
    </form>`}
    ${stackId && html`<section id="progress" data-stack=${stackId}>
      <h2>${name} <span id="stack-status" class=${"mono " + (stack ? statusClass(stack.status) : "cold")}>${stack ? stack.status : "CREATE_IN_PROGRESS"}</span></h2>
      ${stack && html`<p class="muted">${stack.reason}</p>
        <h3>${t.resources}</h3>
        <table class="resources">${stack.resources.map((r) => html`<tr><td class="mono">${r.logicalId}</td>
          <td class="mono">${r.type}</td><td class=${"mono " + statusClass(r.status)}>${r.status}</td><td>${r.reason}</td></tr>`)}</table>
        ${Object.keys(stack.outputs).length > 0 && html`<h3>${t.outputs}</h3><div class="outputs"><${Values} values=${stack.outputs} /></div>
          <h3>${t.copy}</h3><pre class="mono" id="outputs-json">${JSON.stringify(stack.outputs, null, 2)}</pre>`}`}
    </section>`}`;
}

// -- Files ----------------------------------------------------------------------------------
// A bucket's objects one folder at a time (files/{internal id}/ of the template's bucket is a
// user's files: the Users page links there); the name is the one the user gave the file, and
// images are shown through the signed URL the call returns (15 minutes on the local clock).
function Files({ params }) {
  const query = new URLSearchParams({ bucket: params.bucket || "", prefix: params.prefix || "" });
  const [data, error] = usePoll(API + "files?" + query, 5000);
  const go = (prefix, bucket = data.bucket) => { location.hash = link("files", { bucket, prefix }); };
  const up = (prefix) => prefix.replace(/[^/]*\/$/, "");
  return html`
    <${Problem} error=${error} />
    <section><h2>Files ${data && html`<span class="muted mono">${data.bucket}/${data.prefix}</span>`}</h2>
      ${data && !data.buckets.length && html`<p class="muted">No bucket yet.</p>`}
      ${data && data.buckets.length > 0 && html`<div class="toolbar">
        <select onChange=${(e) => go("", e.target.value)}>${data.buckets.map((b) => html`
          <option selected=${b === data.bucket}>${b}</option>`)}</select>
        <input placeholder="prefix, e.g. files/2088.../" value=${data.prefix}
          onChange=${(e) => go(e.target.value)} />
        ${data.prefix && html`<button onClick=${() => go(up(data.prefix))}>Up</button>`}</div>`}
      ${data && html`<table id="files"><tr><th>key</th><th>name</th><th>type</th><th>size</th><th>modified</th><th>preview</th></tr>
        ${data.prefixes.map((p) => html`<tr><td class="mono"><a href=${link("files", { bucket: data.bucket, prefix: p })}>${p}</a></td>
          <td></td><td class="muted">folder</td><td></td><td></td><td></td></tr>`)}
        ${data.objects.map((o) => html`<tr data-key=${o.key}><td class="mono"><a href=${o.url} target="_blank" rel="noreferrer">${o.key}</a></td>
          <td>${o.name}</td><td class="mono">${o.contentType}</td><td>${o.size}</td><td>${when(o.modified)}</td>
          <td>${o.contentType.startsWith("image/") && html`<img class="preview" src=${o.url} alt=${o.key} />`}</td></tr>`)}
      </table>`}
      ${data && data.truncated && html`<p class="muted">Only the first ones are shown.</p>`}
    </section>`;
}

// -- State ----------------------------------------------------------------------------------
function State() {
  const [message, setMessage] = useState(null);
  const file = useRef(null);
  const run = async (label, promise) => {
    try { setMessage({ text: `${label}: ${JSON.stringify(await promise)}` }); }
    catch (e) { setMessage({ text: `${label}: ${e.message}`, error: true }); }
  };
  const upload = () => {
    const chosen = file.current.files[0];
    if (chosen) run("import", send("POST", API + "state", chosen, { "Content-Type": "application/zip" }));
  };
  return html`
    <section><h2>The whole local state</h2>
      ${message && html`<div class=${"notice" + (message.error ? " error" : "")}>${message.text}</div>`}
      <p>Tablestore rows, log records, sandbox users and users' files (the template's buckets'
        objects), in one file. Left out: every key (they
        stay this cloud's own) and the Alipay sandbox's access and refresh tokens and unused auth
        codes, so sessions from a file cannot refresh their Alipay tokens and their users log in
        again.</p>
      <p class="muted">An import checks the whole file first (each database's schema, its size
        unpacked); a file it refuses changes nothing.</p>
      <div class="toolbar"><a href=${API + "state"} download><button>Export to a file</button></a></div>
      <div class="toolbar"><input type="file" accept=".zip" ref=${file} />
        <button onClick=${upload}>Import (replaces the state)</button></div>
      <div class="toolbar"><button class="danger" onClick=${() => confirm("Forget every row, record, user and user's file?") && run("reset", send("DELETE", API + "state"))}>
        Reset</button><span class="muted">The declared tables and logstores stay, empty.</span></div>
    </section>`;
}

// One entry per page: a new page is one more entry here.
const PAGES = [
  { id: "overview", title: "Overview", view: Overview },
  { id: "users", title: "Users", view: Users },
  { id: "data", title: "Data", view: Data },
  { id: "logs", title: "Logs", view: Logs },
  { id: "invocations", title: "Invocations", view: Invocations },
  { id: "faults", title: "Faults", view: Faults },
  { id: "stacks", title: "Stacks", view: Stacks },
  { id: "create-stack", title: "Create stack", view: CreateStack },
  { id: "files", title: "Files", view: Files },
  { id: "state", title: "Export / import", view: State },
];

function App() {
  const [where, setWhere] = useState(parseHash());
  useEffect(() => {
    const changed = () => setWhere(parseHash());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  const page = PAGES.find((p) => p.id === where.page) || PAGES[0];
  const View = page.view;
  return html`
    <header><h1>Local cloud console</h1>
      <nav>${PAGES.map((p) => html`<a href=${"#" + p.id} class=${p === page ? "active" : ""}>${p.title}</a>`)}</nav>
    </header>
    <main data-page=${page.id}><${View} key=${page.id + JSON.stringify(where.params)} params=${where.params} /></main>`;
}

const root = document.getElementById("app");
root.textContent = "";  // the "Loading" line: preact renders beside what it did not create
render(html`<${App} />`, root);
