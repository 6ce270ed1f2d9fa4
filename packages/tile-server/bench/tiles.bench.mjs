// Tile throughput of @strata/tile-server against nginx serving the same pre-encoded bytes.
//
//   node packages/tile-server/bench/tiles.bench.mjs [runs] [seconds] [tile=512]   (needs the built dist/ and Debian nginx)
//
// Exports `run({ runs, seconds })` for a harness; prints one JSON line with medians per scenario:
// - nginx: 16 pre-encoded 512x512 uint8 PNG tiles from disk (1 worker process; the ceiling),
// - cached: the same 16 tiles from the server with a warm cache,
// - uncached: 512x512 PNG tiles from a chunked HDF5 volume with the cache disabled
//   (every request reads 16 HDF5 blocks of [16,128,128] and encodes a PNG).
// autocannon runs in this process, the server and nginx in their own processes, all on 127.0.0.1.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { createH5Context } from "@strata/h5";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHAPE = [16, 2048, 2048];
const CONNECTIONS = 10;

function volume() {
  const [Z, Y, X] = SHAPE;
  const data = new Uint8Array(Z * Y * X);
  let h = 12345;
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        h = (Math.imul(h, 1103515245) + 12345) >>> 0;
        const v = 128 + 50 * Math.sin(x / 17 + z / 5) + 40 * Math.cos(y / 23) + ((h >>> 24) & 15);
        data[(z * Y + y) * X + x] = v;
      }
  return data;
}

function config(dir, file, cacheMiB) {
  return [
    "bfly:",
    `  allowed-paths: [${JSON.stringify(dir)}]`,
    `  db-path: ${JSON.stringify(path.join(dir, `bfly-${cacheMiB}.db`))}`,
    `  max-cache-size: ${cacheMiB}`,
    "  experiments:",
    "    - name: bench",
    "      samples:",
    "        - name: s",
    "          datasets:",
    "            - name: d",
    `              path: ${JSON.stringify(dir)}`,
    "              channels:",
    `                - {name: em, path: ${JSON.stringify(file)}}`,
    "",
  ].join("\n");
}

function startServer(configPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, "serve.mjs"), configPath], { stdio: ["ignore", "pipe", "inherit"] });
    child.once("error", reject);
    child.stdout.once("data", (b) => resolve({ child, url: b.toString().trim() }));
  });
}

function startNginx(dir, root) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = path.join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1;\ndaemon off;\nuser root;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log;\nevents { worker_connections 1024; }\n` +
      `http {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n  types { image/png png; }\n` +
      `  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;\n` +
      `  server { listen 127.0.0.1:${port}; root ${root}; }\n}\n`,
  );
  const child = spawn("nginx", ["-c", conf, "-p", dir], { stdio: "inherit" });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function waitFor(url) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

function rssKiB(pid) {
  // RSS of a process and its direct children (nginx master + worker).
  const out = execFileSync("ps", ["-o", "rss=", "-p", String(pid), "--ppid", String(pid)]).toString();
  return out.split("\n").filter(Boolean).reduce((n, l) => n + Number(l.trim()), 0);
}

function cannon(base, paths, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: base, connections: CONNECTIONS, duration: seconds, requests: paths.map((p) => ({ method: "GET", path: p })) },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run({ runs = 3, seconds = 5, tile = 512 } = {}) {
  const TILE = tile;
  const dir = mkdtempSync(path.join(tmpdir(), "tile-bench-"));
  chmodSync(dir, 0o755);
  const procs = [];
  try {
    const file = path.join(dir, "em.h5");
    const ctx = createH5Context();
    await ctx.writeScope(file, (f) => void f.createDataset("/main", { dtype: "uint8", shape: SHAPE, chunks: [16, 128, 128], data: volume() }), { mode: "w" });
    await ctx.close();
    writeFileSync(path.join(dir, "cached.yaml"), config(dir, file, 1024));
    writeFileSync(path.join(dir, "uncached.yaml"), config(dir, file, 0));
    const q = (x, y, z) => `/api/data?experiment=bench&sample=s&dataset=d&channel=em&x=${x}&y=${y}&z=${z}&width=${TILE}&height=${TILE}&format=png`;
    const cachedPaths = [];
    for (let i = 0; i < 16; i++) cachedPaths.push(q((i % 4) * 512, Math.floor(i / 4) * 512, 3));
    const uncachedPaths = [];
    for (let z = 0; z < SHAPE[0]; z++) for (let i = 0; i < 16; i++) uncachedPaths.push(q((i % 4) * 512, Math.floor(i / 4) * 512, z));

    const cached = await startServer(path.join(dir, "cached.yaml"));
    procs.push(cached.child);
    const uncached = await startServer(path.join(dir, "uncached.yaml"));
    procs.push(uncached.child);
    // Pre-encode: the nginx root holds exactly the bytes the server sends.
    const root = path.join(dir, "tiles");
    mkdirSync(root);
    const nginxPaths = [];
    let tileBytes = 0;
    for (const [i, p] of cachedPaths.entries()) {
      const body = Buffer.from(await (await fetch(cached.url + p)).arrayBuffer());
      tileBytes += body.byteLength;
      writeFileSync(path.join(root, `t${i}.png`), body);
      nginxPaths.push(`/t${i}.png`);
    }
    const nginx = startNginx(dir, root);
    procs.push(nginx.child);
    await waitFor(nginx.url + nginxPaths[0]);
    const same = Buffer.compare(Buffer.from(await (await fetch(nginx.url + nginxPaths[5])).arrayBuffer()), Buffer.from(await (await fetch(cached.url + cachedPaths[5])).arrayBuffer())) === 0;

    const scenarios = { nginx: [nginx, nginxPaths], cached: [cached, cachedPaths], uncached: [uncached, uncachedPaths] };
    const results = {};
    for (const [name, [srv, paths]] of Object.entries(scenarios)) {
      await cannon(srv.url, paths, 1); // warm-up
      const rows = [];
      for (let r = 0; r < runs; r++) {
        const res = await cannon(srv.url, paths, seconds);
        rows.push({ rps: res.requests.average, p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, errors: res.errors + res.non2xx, rssMiB: rssKiB(srv.child.pid) / 1024 });
      }
      results[name] = Object.fromEntries(Object.keys(rows[0]).map((k) => [k, median(rows.map((x) => x[k]))]));
    }
    return {
      bench: "tile-server/tiles",
      machine: `${cpus().length}x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`,
      nginx: spawnSync("nginx", ["-v"]).stderr.toString().trim(),
      tile: `${TILE}x${TILE}`,
      connections: CONNECTIONS,
      seconds,
      runs,
      meanTileBytes: Math.round(tileBytes / 16),
      identicalBytes: same,
      results,
      ratios: { cachedVsNginx: results.cached.rps / results.nginx.rps, uncachedVsNginx: results.uncached.rps / results.nginx.rps },
    };
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.argv[2] ?? 3);
  const seconds = Number(process.argv[3] ?? 5);
  const tile = Number(process.argv[4] ?? 512);
  console.log(JSON.stringify(await run({ runs, seconds, tile })));
}
