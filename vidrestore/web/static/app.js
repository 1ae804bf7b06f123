// vidrestore serve: the page. Plain JavaScript, no build step; every request goes to /api/*.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = {
  info: null, folder: "", input: null, inputKind: null, fields: [], changes: {}, options: {},
  b: null, previews: { a: null, b: null }, frame: 0, zoom: 1, tx: 0, ty: 0, streams: {},
};

// ------------------------------------------------------------------ helpers

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function api(path, body, method) {
  const opts = { method: method || (body === undefined ? "GET" : "POST"), headers: {} };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(path, opts);
  const text = await r.text();
  let data; try { data = JSON.parse(text); } catch { data = { error: text.trim() }; }
  if (!r.ok) { const err = new Error(data.error || `${r.status}`); err.key = data.key; err.status = r.status; throw err; }
  return data;
}

function showError(msg) {
  const box = $("#error");
  box.textContent = msg || ""; box.hidden = !msg;
}

function fmtTime(s) {
  if (s == null || !isFinite(s)) return "–";
  s = Math.round(s); const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(x).padStart(2, "0");
}

// ------------------------------------------------------------------ pick

async function browse(path) {
  try {
    const data = await api("/api/browse?path=" + encodeURIComponent(path));
    state.folder = path;
    const crumbs = $("#crumbs"); crumbs.replaceChildren(el("a", { onclick: () => browse("") }, "roots"));
    let acc = "";
    for (const part of path ? path.split("/") : []) {
      acc = acc ? acc + "/" + part : part; const here = acc;
      crumbs.append("/", el("a", { onclick: () => browse(here) }, part));
    }
    const list = $("#browser"); list.replaceChildren();
    for (const e of data.entries) {
      const extra = e.count != null ? `${e.count} files` : e.bytes != null ? `${(e.bytes / 1e6).toFixed(1)} MB` : "";
      const li = el("li", { class: "entry", dataset: { ref: e.ref, kind: e.kind }, title: e.ref },
        el("span", { class: "kind" }, e.kind), el("span", { class: "name" }, e.name), el("span", { class: "kind" }, extra));
      li.addEventListener("click", () => (e.kind === "folder" ? browse(e.ref) : pick(e)));
      li.addEventListener("dblclick", () => { if (["images", "geoseries"].includes(e.kind)) browse(e.ref); });
      if (e.kind === "yaml") li.title = "click: use as the config file";
      list.append(li);
    }
  } catch (err) { showError(err.message); }
}

async function pick(entry) {
  if (entry.kind === "yaml") { state.configFile = entry.ref; $("#preset").value = ""; await loadSchema(); return; }
  state.input = entry.ref; state.inputKind = entry.kind;
  document.querySelectorAll("#browser li").forEach((li) => li.classList.toggle("picked", li.dataset.ref === entry.ref));
  $("#picked").textContent = "Input: " + entry.ref;
  if (["geotiff", "geoseries"].includes(entry.kind) && $("#command").value !== "decloud") {
    $("#command").value = "decloud"; await commandChanged();
  }
  suggestOutput();
  $("#probe").textContent = "probing…";
  try {
    const f = await api("/api/probe?path=" + encodeURIComponent(entry.ref));
    $("#probe").textContent = probeText(f);
    state.probe = f;
    showError("");
  } catch (err) { $("#probe").textContent = ""; showError(err.message); }
  await check();
}

function probeText(f) {
  if (f.video) {
    const v = f.video, lines = [
      `${f.kind} [${f.container}] ${v.codec} ${v.width}x${v.height} ${v.pix_fmt} (${v.bit_depth}-bit)`,
      `${v.frames ?? "?"} frames${v.frames_exact ? "" : " (estimated)"}, ${v.avg_fps ? v.avg_fps.toFixed(3) : "?"} fps, ` +
        `${v.duration != null ? v.duration.toFixed(2) + " s" : "duration unknown"}${v.variable_frame_rate ? ", variable frame rate" : ""}`,
      `colour: ${v.color_primaries ?? "?"}/${v.color_transfer ?? "?"}/${v.color_matrix ?? "?"} ${v.color_range ?? ""}${v.hdr ? " HDR" : ""}`,
    ];
    for (const a of f.audio || []) lines.push(`audio #${a.index}: ${a.codec} ${a.sample_rate} Hz ${a.layout || a.channels}`);
    for (const s of f.subtitles || []) lines.push(`subtitle #${s.index}: ${s.codec}`);
    return lines.join("\n");
  }
  return Object.entries(f).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`).join("\n");
}

function suggestOutput() {
  if (!state.input) return;
  const cmd = $("#command").value, preset = $("#preset").value || cmd;
  const parts = state.input.split("/"), name = parts.pop(), dir = parts.join("/");
  const stem = name.replace(/\.[^.]+$/, "");
  const out = cmd === "decloud" ? `${dir}/${stem}-decloud` : `${dir}/${stem}.${preset}.mp4`;
  if (!state.outputTouched) $("#output").value = out;
}

// ------------------------------------------------------------------ set

async function loadInfo() {
  state.info = await api("/api/info");
  $("#version").textContent = "v" + state.info.version;
  const sel = $("#preset"); sel.replaceChildren(el("option", { value: "" }, "(command default)"));
  for (const p of state.info.presets) sel.append(el("option", { value: p.name, title: p.description }, p.name));
  $("#preview-count").value = state.info.preview_frames;
}

async function commandChanged() {
  state.options = {};
  renderOptions();
  suggestOutput();
  await loadSchema();
}

function renderOptions() {
  const box = $("#options"); box.replaceChildren();
  for (const o of state.info.options[$("#command").value] || []) {
    let input;
    if (o.kind === "bool") {
      input = el("input", { type: "checkbox", dataset: { option: o.name } });
      input.checked = !!state.options[o.name];
      input.addEventListener("change", () => { state.options[o.name] = input.checked; check(); });
    } else if (o.choices) {
      input = el("select", { dataset: { option: o.name } });
      for (const c of o.choices) input.append(el("option", { value: c }, c || "(default)"));
      input.value = state.options[o.name] || "";
      input.addEventListener("change", () => { state.options[o.name] = input.value; check(); });
    } else {
      input = el("input", { type: "text", dataset: { option: o.name }, value: state.options[o.name] || "" });
      input.addEventListener("change", () => { state.options[o.name] = input.value; check(); });
    }
    box.append(el("div", { class: "field" }, el("span", { class: "key" }, "--" + o.name.replace(/_/g, "-")), input,
      el("span", { class: "help" }, o.help)));
  }
}

let schemaSeq = 0;
async function loadSchema() {
  // The form is inert while its schema loads: an edit made to the old form would be dropped when the new one
  // arrives. data-schema names what the form shows once it is ready (command/preset or the config file).
  const seq = ++schemaSeq, box = $("#form");
  const q = new URLSearchParams({ command: $("#command").value, preset: $("#preset").value, config_file: state.configFile || "" });
  box.inert = true; box.dataset.schema = "";
  try {
    const data = await api("/api/schema?" + q);
    if (seq !== schemaSeq) return;
    state.fields = data.fields; state.changes = {};
    renderForm(); showError("");
  } catch (err) { if (seq !== schemaSeq) return; showError(err.message); }
  box.inert = false;
  box.dataset.schema = `${$("#command").value}/${state.configFile || $("#preset").value}`;
  await check();
}

function renderForm() {
  const box = $("#form"), filter = $("#filter").value.trim().toLowerCase();
  box.replaceChildren();
  for (const f of state.fields) {
    if (filter && !f.key.toLowerCase().includes(filter) && !(f.help || "").toLowerCase().includes(filter)) continue;
    if (f.kind === "section") { box.append(el("div", { class: "field section", title: f.help }, f.key)); continue; }
    const text = f.key in state.changes ? state.changes[f.key] : f.text;
    let input;
    if (f.kind === "bool" && !f.nullable) {
      input = el("input", { type: "checkbox", dataset: { key: f.key } }); input.checked = text === "true";
      input.addEventListener("change", () => edit(f, input.checked ? "true" : "false"));
    } else if (f.choices.length) {
      input = el("select", { dataset: { key: f.key } });
      for (const c of f.choices) input.append(el("option", { value: c }, c));
      input.value = text;
      input.addEventListener("change", () => edit(f, input.value));
    } else {
      input = el("input", { type: "text", dataset: { key: f.key }, value: text, spellcheck: "false" });
      input.addEventListener("change", () => edit(f, input.value));
    }
    const row = el("div", { class: "field" + (f.key in state.changes ? " changed" : ""), dataset: { field: f.key } },
      el("span", { class: "key", title: `default: ${JSON.stringify(f.default)}` }, f.key), input,
      el("span", { class: "help" }, f.help || ""));
    box.append(row);
  }
  const n = Object.keys(state.changes).length;
  $("#changed-count").textContent = n ? `${n} changed` : "";
}

function edit(field, text) {
  if (text === field.text) delete state.changes[field.key]; else state.changes[field.key] = text;
  const row = document.querySelector(`[data-field="${CSS.escape(field.key)}"]`);
  if (row) row.classList.toggle("changed", field.key in state.changes);
  $("#changed-count").textContent = Object.keys(state.changes).length ? `${Object.keys(state.changes).length} changed` : "";
  check();
}

function settings() {
  const cmd = $("#command").value;
  return {
    command: cmd, input: cmd === "decloud" ? (state.input ? [state.input] : []) : state.input,
    output: $("#output").value.trim(), preset: state.configFile ? null : ($("#preset").value || null),
    config: state.configFile || null, changes: { ...state.changes }, options: { ...state.options },
    overwrite: $("#overwrite").checked,
  };
}

let checkSeq = 0;
async function check() {
  const seq = ++checkSeq;
  document.querySelectorAll(".field.bad").forEach((r) => r.classList.remove("bad"));
  document.querySelectorAll(".field-error").forEach((e) => e.remove());
  try {
    const r = await api("/api/check", settings());
    if (seq !== checkSeq) return r;
    $("#cmdline").textContent = r.command_line || "";
    const msg = $("#check-msg");
    if (r.ok) {
      msg.textContent = "settings valid"; msg.className = "msg ok";
      $("#yaml").textContent = r.yaml;
      const a = $("#download-yaml");
      if (a.dataset.url) URL.revokeObjectURL(a.dataset.url);
      a.dataset.url = URL.createObjectURL(new Blob([r.yaml], { type: "text/yaml" }));
      a.href = a.dataset.url; a.download = `${r.preset || "vidrestore"}.yaml`;
    } else {
      markError(r.error, r.key);
    }
    return r;
  } catch (err) {
    if (seq === checkSeq) markError(err.message, err.key);
    return { ok: false, error: err.message };
  }
}

function markError(message, key) {
  const msg = $("#check-msg");
  msg.textContent = message; msg.className = "msg bad";
  const row = key && document.querySelector(`[data-field="${CSS.escape(key)}"]`);
  if (row) { row.classList.add("bad"); row.append(el("span", { class: "field-error" }, message)); }
}

// ------------------------------------------------------------------ preview

async function runPreview() {
  const status = $("#preview-status");
  const base = { time_s: parseFloat($("#preview-time").value) || 0, count: parseInt($("#preview-count").value, 10) || 5 };
  status.textContent = "computing preview…"; status.className = "msg";
  $("#preview-btn").disabled = true;
  try {
    const a = await api("/api/preview", { ...settings(), ...base });
    const b = state.b ? await api("/api/preview", { ...state.b, ...base, input: settings().input }) : null;
    state.previews = { a, b };
    const n = Math.max(a.after.length, a.before.length, 1);
    $("#frame-slider").max = String(n - 1);
    if (state.frame >= n) state.frame = 0;
    $("#frame-slider").value = String(state.frame);
    status.textContent = a.frames ? `frames ${a.frames[0]}–${a.frames[1] - 1} ready` : "ready";
    status.className = "msg ok";
    $("#quicklook").replaceChildren(...(a.quicklook || []).map((u) => el("img", { src: u, alt: "quick-look" })),
      ...(a.decloud_masks || []).map((u) => el("figure", {}, el("img", { src: u, alt: "mask", class: "mask-view" }),
        el("figcaption", {}, u.split("/").pop().replace(".png", "") + " (white cloud, orange shadow)"))));
    showView();
  } catch (err) {
    status.textContent = err.message; status.className = "msg bad";
  } finally { $("#preview-btn").disabled = false; }
}

function pairFrame(list, i, nOut) {
  if (!list || !list.length) return null;
  if (list.length === nOut) return list[Math.min(i, list.length - 1)];
  return list[Math.min(list.length - 1, Math.floor((i * list.length) / Math.max(nOut, 1)))];
}

function showView() {
  const { a, b } = state.previews;
  if (!a) return;
  const pair = $("#pair").value, i = state.frame, n = a.after.length || a.before.length;
  // a decloud dry run has no after: its dates show on both sides, the masks over the right one
  const after = (p) => p && (p.after.length ? p.after : p.dry_run ? p.before : p.after);
  const left = pair === "a-b" ? pairFrame(after(a), i, n) : pairFrame(a.before, i, n);
  const right = pair === "before-b" ? pairFrame(after(b), i, n) : pair === "a-b" ? pairFrame(after(b), i, n) : pairFrame(after(a), i, n);
  $("#img-a").src = left || ""; $("#img-b").src = right || "";
  $("#tag-a").textContent = pair === "a-b" ? "A" : "before";
  $("#tag-b").textContent = pair === "before-a" ? "A" : "B";
  $("#frame-label").textContent = a.frames ? `input frame ${a.frames[0] + Math.floor((i * (a.frames[1] - a.frames[0])) / Math.max(n, 1))}`
    : a.dates ? `date ${a.dates[Math.min(i, a.dates.length - 1)]}${a.dry_run ? " (dry run: masks only)" : ""}` : "";
  const src = pair === "before-b" ? b : a;
  setMask("#ov-dust", src && src.masks.dust ? pairFrame(src.masks.dust, i, n) : null, [255, 60, 60], $("#mask-dust").checked);
  setMask("#ov-scratch", src && src.masks.scratch ? pairFrame(src.masks.scratch, i, n) : null, [60, 200, 255], $("#mask-scratch").checked);
  setMask("#ov-cloud", src && src.masks.cloud ? pairFrame(src.masks.cloud, i, n) : null, [255, 230, 0], $("#mask-cloud").checked);
  setMask("#ov-shadow", src && src.masks.shadow ? pairFrame(src.masks.shadow, i, n) : null, [40, 90, 255], $("#mask-shadow").checked);
  applyView();
}

const maskCache = {};
function setMask(sel, url, rgb, on) {
  const img = $(sel);
  if (!url || !on) { img.hidden = true; return; }
  img.hidden = false;
  const key = url + rgb.join();
  if (maskCache[key]) { img.src = maskCache[key]; return; }
  const src = new Image();
  src.onload = () => {  // white = detected -> a coloured, half-transparent overlay
    const c = document.createElement("canvas"); c.width = src.width; c.height = src.height;
    const g = c.getContext("2d"); g.drawImage(src, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height);
    for (let p = 0; p < d.data.length; p += 4) {
      const on = d.data[p] > 127;
      d.data[p] = rgb[0]; d.data[p + 1] = rgb[1]; d.data[p + 2] = rgb[2]; d.data[p + 3] = on ? 170 : 0;
    }
    g.putImageData(d, 0, 0);
    maskCache[key] = c.toDataURL(); img.src = maskCache[key];
  };
  src.src = url;
}

function fit(paneW, paneH) {
  const img = $("#img-a").naturalWidth ? $("#img-a") : $("#img-b");
  const w = img.naturalWidth || 4, h = img.naturalHeight || 3, k = Math.min(paneW / w, paneH / h);
  return { w: w * k, x: (paneW - w * k) / 2, y: (paneH - h * k) / 2 };
}

function applyView() {
  const viewer = $("#viewer"), mode = $("#view-mode").value;
  viewer.className = "viewer " + mode;
  const paneW = mode === "side" ? viewer.clientWidth / 2 : viewer.clientWidth;
  const f = fit(paneW, viewer.clientHeight);
  state.fit = f;
  for (const id of ["#img-a", "#img-b", "#ov-dust", "#ov-scratch", "#ov-cloud", "#ov-shadow"]) $(id).style.width = f.w + "px";
  const t = `translate(${state.tx}px, ${state.ty}px) scale(${state.zoom})`;
  document.querySelectorAll(".viewer .layer").forEach((l) => {
    l.style.left = f.x + "px"; l.style.top = f.y + "px"; l.style.transform = t;
  });
  // the wipe is a position in the picture (0 = its left edge, 100 = its right edge), wherever pan and zoom put it
  const w = parseInt($("#wipe").value, 10) / 100;
  const x = Math.min(paneW, Math.max(0, f.x + state.tx + w * f.w * state.zoom));
  state.wipeX = x;
  $("#pane-b").style.clipPath = mode === "wipe" ? `inset(0px 0px 0px ${x.toFixed(1)}px)` : "none";
  const divider = $("#divider");
  divider.hidden = mode !== "wipe";
  divider.style.left = `${x - 1}px`;
}

function zoomBy(f, cx, cy) {
  const z = Math.min(32, Math.max(1, state.zoom * f));
  const off = state.fit || { x: 0, y: 0 };
  cx = (cx ?? 0) - off.x; cy = (cy ?? 0) - off.y;
  state.tx = cx - ((cx - state.tx) * z) / state.zoom; state.ty = cy - ((cy - state.ty) * z) / state.zoom;
  state.zoom = z; if (z === 1) { state.tx = 0; state.ty = 0; }
  applyView();
}

function setupViewer() {
  const v = $("#viewer");
  v.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = v.getBoundingClientRect(), side = $("#view-mode").value === "side";
    const x = (e.clientX - r.left) % (side ? r.width / 2 : r.width), y = e.clientY - r.top;
    zoomBy(e.deltaY < 0 ? 1.25 : 0.8, x, y);
  }, { passive: false });
  let drag = null;
  v.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, tx: state.tx, ty: state.ty }; v.setPointerCapture(e.pointerId); });
  v.addEventListener("pointermove", (e) => { if (!drag) return; state.tx = drag.tx + e.clientX - drag.x; state.ty = drag.ty + e.clientY - drag.y; applyView(); });
  v.addEventListener("pointerup", () => (drag = null));
  const centre = () => [($("#view-mode").value === "side" ? v.clientWidth / 4 : v.clientWidth / 2), v.clientHeight / 2];
  $("#zoom-in").onclick = () => zoomBy(1.5, ...centre());
  $("#zoom-out").onclick = () => zoomBy(1 / 1.5, ...centre());
  $("#zoom-reset").onclick = () => { state.zoom = 1; state.tx = 0; state.ty = 0; applyView(); };
  $("#wipe").addEventListener("input", applyView);
  $("#img-a").addEventListener("load", applyView);
  $("#img-b").addEventListener("load", applyView);
  $("#view-mode").addEventListener("change", applyView);
  $("#pair").addEventListener("change", showView);
  $("#mask-dust").addEventListener("change", showView);
  $("#mask-scratch").addEventListener("change", showView);
  $("#mask-cloud").addEventListener("change", showView);
  $("#mask-shadow").addEventListener("change", showView);
  $("#frame-slider").addEventListener("input", () => { state.frame = parseInt($("#frame-slider").value, 10); showView(); });
  window.addEventListener("resize", applyView);
}

// ------------------------------------------------------------------ run

async function startJob() {
  const msg = $("#start-msg");
  msg.textContent = "starting…"; msg.className = "msg";
  try {
    const r = await api("/api/jobs", settings());
    msg.textContent = `job ${r.id} queued`; msg.className = "msg ok";
    await refreshJobs();
  } catch (err) { msg.textContent = err.message; msg.className = "msg bad"; markError(err.message, err.key); }
}

async function refreshJobs() {
  let data;
  try { data = await api("/api/jobs"); } catch (err) { showError(err.message); return; }
  const list = $("#jobs"); list.replaceChildren();
  for (const j of data.jobs) list.append(renderJob(j));
  for (const j of data.jobs) if (["queued", "starting", "running"].includes(j.state)) watch(j.id);
}

function renderJob(j) {
  const li = el("li", { class: "job " + j.state, dataset: { id: j.id } });
  const bar = el("div", { class: "bar" }, el("div"));
  const head = el("div", { class: "head" }, el("span", { class: "state" }, j.state), el("span", {}, j.label), bar,
    el("span", { class: "pct" }), el("span", { class: "fps" }), el("span", { class: "eta" }));
  const actions = el("span", { class: "actions" });
  if (["queued", "starting", "running"].includes(j.state))
    actions.append(el("button", { class: "cancel", onclick: () => act(j.id, "cancel") }, "Cancel"));
  if (j.resumable) actions.append(el("button", { class: "resume", onclick: () => act(j.id, "resume") }, "Resume"));
  if (!["queued", "starting", "running"].includes(j.state))
    actions.append(el("button", { class: "remove", onclick: () => act(j.id, "remove") }, "Remove"));
  actions.append(el("a", { href: `/api/jobs/${j.id}/log`, target: "_blank" }, "log"));
  head.append(actions);
  li.append(head, el("div", { class: "cmd" }, j.command_line), el("div", { class: "message msg" }, j.message || ""));
  if (j.result) li.append(el("div", { class: "result msg ok" },
    `${j.result.output}: ${j.result.frames_out ?? "?"} frames` + (j.result.seconds ? ` in ${j.result.seconds.toFixed(1)} s` : "")));
  if (j.extras.length) {
    const ex = el("div", { class: "extras" });
    for (const u of j.extras) ex.append(el("a", { href: u, target: "_blank" }, el("img", { src: u, alt: u.split("/").pop() })));
    li.append(el("details", { class: "compare", open: "" }, el("summary", {}, "comparison and evaluation"), ex));
  }
  updateProgress(li, { state: j.state, progress: j.progress });
  return li;
}

function updateProgress(li, ev) {
  const p = ev.progress || {};
  const pct = ev.state === "done" ? 100 : p.total ? Math.min(100, (100 * p.done) / p.total) : 0;
  li.querySelector(".bar > div").style.width = pct + "%";
  li.querySelector(".pct").textContent = p.total || ev.state === "done" ? `${Math.floor(pct)} %` : p.done ? `${p.done} frames` : "";
  li.querySelector(".fps").textContent = p.fps ? `${p.fps.toFixed(2)} fps` : "";
  li.querySelector(".eta").textContent = p.eta_s != null && ev.state === "running" ? `ETA ${fmtTime(p.eta_s)}` : p.phase ? p.phase : "";
  li.querySelector(".state").textContent = ev.state;
  li.className = "job " + ev.state;
  if (ev.message != null) li.querySelector(".message").textContent = ev.message;
}

function watch(id) {
  if (state.streams[id]) return;
  const es = new EventSource(`/api/jobs/${id}/events`);
  state.streams[id] = es;
  es.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    const li = document.querySelector(`.job[data-id="${id}"]`);
    if (li) updateProgress(li, ev);
    if (["done", "failed", "cancelled", "interrupted"].includes(ev.state)) {
      es.close(); delete state.streams[id]; refreshJobs();
    }
  };
  es.onerror = () => { es.close(); delete state.streams[id]; setTimeout(refreshJobs, 2000); };
}

async function act(id, what) {
  try {
    if (what === "remove") await api(`/api/jobs/${id}`, undefined, "DELETE");
    else await api(`/api/jobs/${id}/${what}`, {});
    showError("");
  } catch (err) { showError(err.message); }
  await refreshJobs();
}

// ------------------------------------------------------------------ start

async function main() {
  try { await loadInfo(); } catch (err) { showError(err.message); return; }
  renderOptions();
  $("#command").addEventListener("change", commandChanged);
  $("#preset").addEventListener("change", async () => { state.configFile = null; suggestOutput(); await loadSchema(); });
  $("#output").addEventListener("change", () => { state.outputTouched = true; check(); });
  $("#overwrite").addEventListener("change", check);
  $("#filter").addEventListener("input", renderForm);
  $("#preview-btn").addEventListener("click", runPreview);
  $("#keep-b").addEventListener("click", () => {
    state.b = settings(); $("#b-label").textContent = `B = ${state.b.preset || state.b.config || "default"}` +
      (Object.keys(state.b.changes).length ? ` + ${Object.keys(state.b.changes).length} changes` : "");
  });
  $("#start-btn").addEventListener("click", startJob);
  setupViewer();
  await browse("");
  await loadSchema();
  await refreshJobs();
  document.body.dataset.ready = "1";
}

main();
