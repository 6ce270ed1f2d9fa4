// Strata tile viewer: plain ES module, no bundler. Pans and zooms through z-slices of an image
// channel with a segmentation overlay, and lists the synapses of the clicked neuron.
const $ = (id) => document.getElementById(id);
const canvas = $("view");
const ctx = canvas.getContext("2d", { willReadFrequently: true });
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { authorization: `Bearer ${token}` } : {};

const state = { meta: null, segMeta: null, z: 0, level: 0, cx: 0, cy: 0, seg: null, segBox: null, neuron: null, synapses: [], busy: 0, renders: 0 };
window.viewerState = state;

async function api(method, params) {
  const res = await fetch(`/api/${method}?${new URLSearchParams(params)}`, { headers });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return res;
}
const json = async (method, params) => (await api(method, params)).json();
const names = () => ({ experiment: $("experiment").value, sample: $("sample").value, dataset: $("dataset").value });

function fill(select, values) {
  select.replaceChildren(...values.map((v) => new Option(v, v)));
}
function status(text) {
  $("status").textContent = text;
}

// butterfly's ID colormap (uint32 products wrap at 2^32).
function idColor(v) {
  const m = 4294967296;
  return [(((107 * v) % m) % 700) % 256, (((509 * v) % m) % 900) % 256, (((200 * v) % m) % 777) % 256];
}

async function inflate(res) {
  const stream = res.body.pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function viewBox() {
  const s = 2 ** state.level;
  const w = canvas.width;
  const h = canvas.height;
  // Top-left in level coordinates, clamped at 0 (the server rejects negative origins).
  const x = Math.max(0, Math.round(state.cx / s - w / 2));
  const y = Math.max(0, Math.round(state.cy / s - h / 2));
  return { x, y, width: w, height: h, s };
}

async function render() {
  if (!state.meta) return;
  const ticket = ++state.renders;
  const box = viewBox();
  const common = { ...names(), x: box.x, y: box.y, z: state.z, width: box.width, height: box.height, resolution: state.level };
  status("loading…");
  try {
    const img = await api("data", { ...common, channel: $("image").value, format: "png" });
    const bitmap = await createImageBitmap(await img.blob());
    let ids = null;
    const segName = $("segmentation").value;
    if (segName && state.segMeta) {
      const raw = await inflate(await api("data", { ...common, channel: segName, format: "zip" }));
      ids = state.segMeta["data-type"] === "uint64" ? Array.from(new BigUint64Array(raw.buffer), Number) : new Uint32Array(raw.buffer);
    }
    if (ticket !== state.renders) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bitmap, 0, 0);
    state.seg = ids;
    state.segBox = box;
    if (ids && $("overlay").checked) {
      const frame = ctx.getImageData(0, 0, box.width, box.height);
      const px = frame.data;
      for (let i = 0; i < ids.length; i++) {
        const v = ids[i];
        if (v === 0) continue;
        const [r, g, b] = idColor(v);
        const a = v === state.neuron ? 0.7 : 0.4;
        px[i * 4] = Math.round(px[i * 4] * (1 - a) + r * a);
        px[i * 4 + 1] = Math.round(px[i * 4 + 1] * (1 - a) + g * a);
        px[i * 4 + 2] = Math.round(px[i * 4 + 2] * (1 - a) + b * a);
      }
      ctx.putImageData(frame, 0, 0);
    }
    drawSynapses(box);
    $("z").textContent = String(state.z);
    $("level").textContent = String(state.level);
    $("center").textContent = `${Math.round(state.cx)}, ${Math.round(state.cy)}`;
    status("ready");
  } catch (err) {
    if (ticket === state.renders) status(`error: ${err.message}`);
  }
}

function drawSynapses(box) {
  ctx.strokeStyle = "#ffff00";
  ctx.lineWidth = 2;
  for (const s of state.synapses) {
    if (s.z !== state.z) continue;
    const x = s.x / box.s - box.x;
    const y = s.y / box.s - box.y;
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.stroke();
  }
}

async function selectNeuron(id) {
  state.neuron = id;
  $("neuron-id").textContent = String(id);
  const dims = state.meta.dimensions;
  const children = await json("entity_feature", {
    feature: "neuron_children", ...names(), channel: $("segmentation").value, id,
    x: 0, y: 0, z: 0, width: dims.x, height: dims.y, depth: dims.z,
  });
  const entries = Object.entries(children).slice(0, 200);
  const synapses = await Promise.all(entries.map(async ([sid, kind]) => {
    const p = await json("entity_feature", { feature: "synapse_keypoint", ...names(), channel: $("segmentation").value, id: sid });
    return { id: Number(sid), kind, ...p };
  }));
  state.synapses = synapses;
  $("synapse-count").textContent = String(Object.keys(children).length);
  const kinds = { 1: "pre", 2: "post", 3: "pre+post" };
  $("synapses").replaceChildren(...synapses.map((s) => {
    const li = document.createElement("li");
    li.textContent = `#${s.id} ${kinds[s.kind]} at z=${s.z} y=${s.y} x=${s.x}`;
    li.dataset.synapse = String(s.id);
    li.addEventListener("click", () => { state.z = s.z; state.cx = s.x; state.cy = s.y; render(); });
    return li;
  }));
  await render();
}

async function loadDataset() {
  const channels = await json("channels", names());
  const metas = await Promise.all(channels.map((c) => json("channel_metadata", { ...names(), channel: c }).catch(() => null)));
  const images = channels.filter((c, i) => metas[i] && !["uint32", "uint64"].includes(metas[i]["data-type"]));
  const segs = channels.filter((c, i) => metas[i] && ["uint32", "uint64"].includes(metas[i]["data-type"]));
  fill($("image"), images);
  fill($("segmentation"), ["", ...segs]);
  if (segs.length > 0) $("segmentation").value = segs[0];
  await chooseChannels(Object.fromEntries(channels.map((c, i) => [c, metas[i]])));
}

let metaByName = {};
async function chooseChannels(metas) {
  if (metas) metaByName = metas;
  state.meta = metaByName[$("image").value] ?? null;
  state.segMeta = metaByName[$("segmentation").value] ?? null;
  if (!state.meta) {
    status("no image channel");
    return;
  }
  const d = state.meta.dimensions;
  state.z = Math.min(state.z, d.z - 1);
  state.cx = d.x / 2;
  state.cy = d.y / 2;
  $("z-max").textContent = String(d.z - 1);
  $("metadata").textContent = JSON.stringify(state.meta, null, 2);
  state.neuron = null;
  state.synapses = [];
  await render();
}

async function cascade(level) {
  if (level <= 0) fill($("experiment"), await json("experiments", {}));
  if (level <= 1) fill($("sample"), await json("samples", { experiment: $("experiment").value }));
  if (level <= 2) fill($("dataset"), await json("datasets", { experiment: $("experiment").value, sample: $("sample").value }));
  await loadDataset();
}

function step(dz, dl) {
  if (!state.meta) return;
  state.z = Math.max(0, Math.min(state.meta.dimensions.z - 1, state.z + dz));
  state.level = Math.max(0, Math.min(state.meta["max-resolution"] ?? 10, state.level + dl));
  render();
}

$("experiment").addEventListener("change", () => cascade(1));
$("sample").addEventListener("change", () => cascade(2));
$("dataset").addEventListener("change", () => cascade(3));
$("image").addEventListener("change", () => chooseChannels());
$("segmentation").addEventListener("change", () => chooseChannels());
$("overlay").addEventListener("change", () => render());
$("z-up").addEventListener("click", () => step(1, 0));
$("z-down").addEventListener("click", () => step(-1, 0));
$("zoom-in").addEventListener("click", () => step(0, -1));
$("zoom-out").addEventListener("click", () => step(0, 1));
canvas.addEventListener("wheel", (e) => { e.preventDefault(); step(0, e.deltaY > 0 ? 1 : -1); }, { passive: false });
canvas.addEventListener("keydown", (e) => {
  const s = 2 ** state.level * 32;
  const moves = { ArrowLeft: [-s, 0], ArrowRight: [s, 0], ArrowUp: [0, -s], ArrowDown: [0, s] };
  if (moves[e.key]) { state.cx += moves[e.key][0]; state.cy += moves[e.key][1]; render(); }
  else if (e.key === "PageDown") step(1, 0);
  else if (e.key === "PageUp") step(-1, 0);
  else if (e.key === "+") step(0, -1);
  else if (e.key === "-") step(0, 1);
  else return;
  e.preventDefault();
});

let drag = null;
canvas.addEventListener("pointerdown", (e) => { drag = { x: e.offsetX, y: e.offsetY, cx: state.cx, cy: state.cy, moved: false }; });
canvas.addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.offsetX - drag.x;
  const dy = e.offsetY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
  if (drag.moved) { state.cx = drag.cx - dx * 2 ** state.level; state.cy = drag.cy - dy * 2 ** state.level; }
});
canvas.addEventListener("pointerup", (e) => {
  const d = drag;
  drag = null;
  if (!d) return;
  if (d.moved) { render(); return; }
  if (!state.seg || !state.segBox) return;
  const i = e.offsetY * state.segBox.width + e.offsetX;
  const id = state.seg[i];
  if (id) selectNeuron(id).catch((err) => status(`error: ${err.message}`));
});

cascade(0).catch((err) => status(`error: ${err.message}`));
