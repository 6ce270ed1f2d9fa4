import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import sharp from "sharp";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp, idColor, MemorySource, parseConfig, type ServerConfig, type Volume } from "../src/index.js";

const tmp = mkdtempSync(join(tmpdir(), "tile-http-"));
const root = join(tmp, "data");
const ds = join(root, "ds1");
const STACK = [4, 48, 80] as const;
const SEG = [6, 40, 50] as const;
const stackData = Uint8Array.from({ length: STACK[0] * STACK[1] * STACK[2] }, (_, i) => (i * 7 + (i >> 8)) % 256);
const segVol: Volume = { data: Uint32Array.from({ length: SEG[0] * SEG[1] * SEG[2] }, (_, i) => 1000 + (i % 17)), shape: SEG, dtype: "uint32" };
let seg: MemorySource;
let app: FastifyInstance;

function configDoc(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bfly: {
      "allowed-paths": [root],
      "db-path": join(root, "bfly.db"),
      "mesh-path": join(root, "mesh"),
      "max-response-bytes": 4 * 1024 * 1024,
      experiments: [
        {
          name: "exp1",
          samples: [
            {
              name: "s1",
              datasets: [
                {
                  name: "ds1",
                  path: ds,
                  channels: [
                    { name: "em", path: join(ds, "em") },
                    { name: "seg", path: join(ds, "seg.h5") },
                    { name: "gone", path: join(ds, "missing.h5") },
                  ],
                },
              ],
            },
          ],
        },
        { name: "exp2", samples: [] },
      ],
      ...over,
    },
  };
}

async function makeApp(over: Record<string, unknown> = {}): Promise<{ app: FastifyInstance; seg: MemorySource; config: ServerConfig }> {
  const config = parseConfig(configDoc(over), { baseDir: root });
  const s = new MemorySource(segVol, [[4, 16, 16]]);
  return { app: await buildApp(config, { sources: new Map([[join(ds, "seg.h5"), s]]) }), seg: s, config };
}

const q = (params: Record<string, string | number>): string => new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
const names = { experiment: "exp1", sample: "s1", dataset: "ds1" };

beforeAll(async () => {
  mkdirSync(join(ds, "em"), { recursive: true });
  for (let z = 0; z < STACK[0]; z++) {
    const slice = stackData.subarray(z * STACK[1] * STACK[2], (z + 1) * STACK[1] * STACK[2]);
    await sharp(slice, { raw: { width: STACK[2], height: STACK[1], channels: 1 } }).toColourspace("b-w").png().toFile(join(ds, "em", `slice_${String(z).padStart(3, "0")}.png`));
  }
  writeFileSync(join(ds, "em", "notes.txt"), "not an image");
  writeFileSync(
    join(ds, "synapse-connections.json"),
    JSON.stringify({ neuron_1: [5, 7, 5, 8], neuron_2: [7, 9, 9, 5], synapse_center: { z: [10, 11, 12, 13], y: [20, 21, 22, 23], x: [30, 31, 32, 33] } }),
  );
  mkdirSync(join(root, "mesh", "exp1::s1::ds1", "seg"), { recursive: true });
  writeFileSync(join(root, "mesh", "exp1::s1::ds1", "seg", "1:0"), "MESHDATA");
  writeFileSync(join(root, "secret.txt"), "TOPSECRET");
  ({ app, seg } = await makeApp());
});
afterAll(async () => {
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function expectNoPaths(body: string): void {
  expect(body).not.toContain(tmp);
  expect(body).not.toMatch(/\/tmp\b|\/data\b|\.h5\b|\/ds1\b/);
}

describe("listing and metadata", () => {
  it("lists configured names", async () => {
    expect((await app.inject("/api/experiments")).json()).toEqual(["exp1", "exp2"]);
    expect((await app.inject("/api/samples?experiment=exp1")).json()).toEqual(["s1"]);
    expect((await app.inject("/api/datasets?experiment=exp1&sample=s1")).json()).toEqual(["ds1"]);
    const r = await app.inject(`/api/channels?${q(names)}`);
    expect(r.json()).toEqual(["em", "seg", "gone"]);
    expect(r.body).toContain('    "em"'); // indented by 4
    expect((await app.inject(`/api/channels/?${q(names)}`)).statusCode).toBe(200);
    const y = await app.inject(`/api/channels?${q({ ...names, format: "yaml" })}`);
    expect(y.body).toBe("- em\n- seg\n- gone\n");
  });

  it("rejects unknown names with 400 and no filesystem paths", async () => {
    const r = await app.inject("/api/samples?experiment=foo");
    expect(r.statusCode).toBe(400);
    expect(r.headers["content-type"]).toMatch(/^text\/plain/);
    expect(r.body).toBe("The experiment foo is not in ['exp1', 'exp2']");
    for (const url of [`/api/channels?experiment=exp1&sample=s1`, `/api/data?${q({ ...names, channel: "../../etc/passwd", x: 0, y: 0, z: 0, width: 1, height: 1 })}`, `/api/data?${q({ ...names, channel: join(ds, "seg.h5"), x: 0, y: 0, z: 0, width: 1, height: 1 })}`]) {
      const res = await app.inject(url);
      expect(res.statusCode).toBe(400);
      expectNoPaths(res.body);
    }
  });

  it("rejects unknown methods (400) and unavailable ones (404)", async () => {
    const r = await app.inject("/api/foo");
    expect(r.statusCode).toBe(400);
    expect(r.body).toMatch(/^The method foo is not in \['channel_metadata'/);
    expect((await app.inject("/api/websocket")).statusCode).toBe(404);
    expect((await app.inject("/api/precompute_info")).statusCode).toBe(404);
    expect((await app.inject("/ws/exp1::s1::ds1/seg")).statusCode).toBe(404);
    expect((await app.inject("/nothing")).statusCode).toBe(404);
  });

  it("returns channel metadata without the server path", async () => {
    const r = await app.inject(`/api/channel_metadata?${q({ ...names, channel: "em" })}`);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ "source-type": "stack", "data-type": "uint8", dimensions: { x: 80, y: 48, z: 4 }, name: "em" });
    expect(r.json()).not.toHaveProperty("path");
    expectNoPaths(r.body);
    const s = await app.inject(`/api/channel_metadata?${q({ ...names, channel: "seg" })}`);
    expect(s.json()).toMatchObject({ "data-type": "uint32", dimensions: { x: 50, y: 40, z: 6 } });
  });

  it("shows the path only with expose-paths", async () => {
    const { app: a } = await makeApp({ "expose-paths": true });
    expect((await a.inject(`/api/channel_metadata?${q({ ...names, channel: "em" })}`)).json().path).toBe(join(ds, "em"));
    await a.close();
  });

  it("answers 503 without a path for a missing source", async () => {
    const r = await app.inject(`/api/data?${q({ ...names, channel: "gone", x: 0, y: 0, z: 0, width: 8, height: 8 })}`);
    expect(r.statusCode).toBe(503);
    expectNoPaths(r.body);
  });
});

describe("/api/data", () => {
  it("zip inflates to width·height·depth·itemsize bytes equal to the source", async () => {
    const r = await app.inject(`/api/data?${q({ ...names, channel: "seg", x: 3, y: 5, z: 1, width: 20, height: 10, depth: 2, format: "zip" })}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toBe("application/octet-stream");
    const raw = inflateSync(r.rawPayload);
    expect(raw.byteLength).toBe(20 * 10 * 2 * 4);
    const got = new Uint32Array(raw.buffer, raw.byteOffset, 400);
    expect(got[0]).toBe((segVol.data as Uint32Array)[(1 * 40 + 5) * 50 + 3]);
    const cm = await app.inject(`/api/data?${q({ ...names, channel: "seg", x: 0, y: 0, z: 0, width: 20, height: 10, depth: 2, format: "zip", view: "colormap" })}`);
    expect(inflateSync(cm.rawPayload).byteLength).toBe(20 * 10 * 2 * 3);
    expect([...inflateSync(cm.rawPayload).subarray(0, 3)]).toEqual(idColor(1000, "uint32"));
    const m = await app.inject(`/api/mask?${q({ ...names, channel: "seg", x: 0, y: 0, z: 0, width: 4, height: 4, format: "zip" })}`);
    expect(inflateSync(m.rawPayload).byteLength).toBe(64);
  });

  it("PNG pixels equal the image-stack hyperslab for random boxes and resolutions", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 3 }),
        async (z, r, x, y, width, height, depth) => {
          const res = await app.inject(`/api/data?${q({ ...names, channel: "em", x, y, z, width, height, depth, resolution: r })}`);
          expect(res.statusCode).toBe(200);
          const { data, info } = await sharp(res.rawPayload).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
          expect([info.width, info.height]).toEqual([width, height * depth]);
          const s = 2 ** r;
          const expected: number[] = [];
          for (let k = 0; k < depth; k++)
            for (let j = 0; j < height; j++)
              for (let i = 0; i < width; i++) {
                const [zz, yy, xx] = [z + k, (y + j) * s, (x + i) * s];
                expected.push(zz < STACK[0] && yy < STACK[1] && xx < STACK[2] ? stackData[(zz * STACK[1] + yy) * STACK[2] + xx]! : 0);
              }
          expect([...data]).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it.each([
    [{ x: -1 }, 400, /negative/],
    [{ x: "abc" }, 400, /The x abc is not an integer/],
    [{ width: 0 }, 400, /width 0 must be positive/],
    [{ height: -10 }, 400, /negative/],
    [{ depth: 0 }, 400, /depth/],
    [{ resolution: 1000 }, 400, /resolution/],
    [{ resolution: -1 }, 400, /negative/],
    [{ format: "exe" }, 400, /format/],
    [{ width: 4096, height: 4096 }, 413, /limit/],
    [{ width: 999999999, height: 999999999, depth: 999999999 }, 413, /limit/],
  ])("rejects %j with %d", async (patch, status, message) => {
    const before = process.memoryUsage().rss;
    const r = await app.inject(`/api/data?${q({ ...names, channel: "seg", x: 0, y: 0, z: 0, width: 8, height: 8, ...patch })}`);
    expect(r.statusCode).toBe(status);
    expect(r.body).toMatch(message);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("100 parallel requests for one uncached tile trigger one source read", async () => {
    const { app: a, seg: s } = await makeApp();
    const url = `/api/data?${q({ ...names, channel: "seg", x: 16, y: 16, z: 4, width: 16, height: 16, format: "zip" })}`;
    const all = await Promise.all(Array.from({ length: 100 }, () => a.inject(url)));
    expect(all.every((r) => r.statusCode === 200)).toBe(true);
    expect(s.reads).toBe(1);
    const metrics = (await a.inject("/metrics")).json();
    // one source tile (block [4, 16, 16] uint32) and one encoded response
    expect(metrics.cache.entries).toBe(2);
    expect(metrics.cache.bytes).toBe(4 * 16 * 16 * 4 + 64 + all[0]!.rawPayload.byteLength + 64);
    expect(a.tileServer.cache.keys()[0]).toBe(`${join(ds, "seg.h5")}|1,1,1|1,1,1`);
    expect(metrics.memory.rss).toBeGreaterThan(0);
    await a.close();
  });
});

describe("/pre (Neuroglancer precomputed)", () => {
  it("reports info with per-level sizes", async () => {
    const r = await app.inject("/pre/exp1::s1::ds1/seg/info");
    expect(r.json()).toEqual({
      num_channels: 1,
      data_type: "uint32",
      type: "segmentation",
      mesh: "mesh",
      scales: [{ key: "0", size: [50, 40, 6], resolution: [4, 4, 30], voxel_offset: [0, 0, 0], chunk_sizes: [[16, 16, 4]], encoding: "raw" }],
    });
    const em = (await app.inject("/pre/exp1::s1::ds1/em/info")).json();
    expect(em.scales[2]).toMatchObject({ key: "2", size: [20, 12, 4], chunk_sizes: [[20, 12, 1]] });
  });

  it("serves raw chunks in C order", async () => {
    const r = await app.inject("/pre/exp1::s1::ds1/seg/0/0-4_0-2_1-2");
    expect(r.statusCode).toBe(200);
    const got = new Uint32Array(r.rawPayload.buffer.slice(r.rawPayload.byteOffset, r.rawPayload.byteOffset + r.rawPayload.byteLength));
    const d = segVol.data as Uint32Array;
    expect([...got]).toEqual([0, 1].flatMap((j) => [0, 1, 2, 3].map((i) => d[(1 * 40 + j) * 50 + i]!)));
    expect((await app.inject("/pre/exp1::s1::ds1/seg/0/4-0_0-2_1-2")).statusCode).toBe(400);
    expect((await app.inject("/pre/nope::s1::ds1/seg/0/0-4_0-2_1-2")).statusCode).toBe(404);
  });

  it("serves mesh files under the mesh root", async () => {
    const r = await app.inject("/pre/exp1::s1::ds1/seg/mesh/1:0");
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe("MESHDATA");
  });

  it.each([
    "/pre/exp1::s1::ds1/seg/mesh/..%2F..%2F..%2Fsecret.txt",
    "/pre/exp1::s1::ds1/seg/mesh/..%2f..%2f..%2fsecret.txt",
    "/pre/exp1::s1::ds1/seg/mesh/../../../secret.txt",
    "/pre/exp1::s1::ds1/seg/mesh/%2E%2E/%2E%2E/%2E%2E/secret.txt",
    "/pre/exp1::s1::ds1/seg/mesh/..%5C..%5C..%5Csecret.txt",
    "/pre/exp1::s1::ds1/seg/mesh/%2Fetc%2Fpasswd",
    "/pre/exp1::s1::ds1/seg/mesh//etc/passwd",
    "/pre/exp1::s1::ds1/seg/mesh/1:0%00.txt",
    "/pre/exp1::s1::ds1/seg/mesh/..%252F..%252Fsecret.txt",
    "/pre/exp1::s1::ds1/..%2F..%2F/mesh/secret.txt",
    "/pre/..::..::../seg/mesh/secret.txt",
    "/pre/exp1::s1::ds1/nochannel/mesh/1:0",
    "/pre/t/c/mesh/..%2F..%2Fetc%2Fpasswd",
  ])("refuses traversal %s with 404", async (url) => {
    const r = await app.inject(url);
    expect(r.statusCode).toBe(404);
    expect(r.body).not.toContain("TOPSECRET");
    expect(r.body).not.toContain("root:");
    expectNoPaths(r.body);
  });
});

describe("entity_feature (butterfly §4.4 example over HTTP)", () => {
  const ef = async (feature: string, extra: Record<string, string | number> = {}, channel = "seg") => {
    const r = await app.inject(`/api/entity_feature?${q({ feature, ...names, channel, ...extra })}`);
    expect(r.statusCode).toBe(200);
    return r.json();
  };
  it("answers every feature", async () => {
    expect(await ef("all_neurons")).toEqual([5, 7, 8, 9]);
    expect(await ef("is_neuron", { id: 7 })).toBe(true);
    expect(await ef("is_neuron", { id: 6 })).toBe(false);
    expect([await ef("is_synapse", { id: 3 }), await ef("is_synapse", { id: 4 }), await ef("is_synapse", { id: -1 })]).toEqual([true, false, false]);
    expect(await ef("synapse_keypoint", { id: 2, resolution: 1 })).toEqual({ z: 12, y: 11, x: 16 });
    expect(await ef("synapse_keypoint", { id: 99 })).toEqual({});
    expect(await ef("synapse_parent", { id: 1 })).toEqual({ synapse_id: 1, synapse_parent_pre: 7, synapse_parent_post: 9 });
    expect(await ef("synapse_parent", { id: -1 })).toEqual({});
    expect(await ef("neuron_keypoint", { id: 5, resolution: 1 })).toEqual({ z: 13, y: 11, x: 16 });
    expect(await ef("synapse_ids", { x: 0, y: 0, z: 0, width: 100, height: 100, depth: 12 })).toEqual([0, 1]);
    expect(await ef("neuron_children", { id: 5, x: 0, y: 0, z: 0, width: 1000, height: 1000, depth: 1000 })).toEqual({ 0: 1, 2: 1, 3: 2 });
  });

  it("validates parameters", async () => {
    for (const [params, message] of [
      [{ feature: "nope" }, /The feature nope is not in/],
      [{ feature: "is_neuron" }, /The id None is not an integer/],
      [{ feature: "is_neuron", id: "1.5" }, /not an integer/],
      [{ feature: "synapse_ids", x: 0, y: 0, z: 0, width: 5 }, /The height None/],
      [{ feature: "synapse_ids", x: -1, y: 0, z: 0, width: 5, height: 5 }, /negative/],
      [{ feature: "neuron_keypoint", id: 1, resolution: 99 }, /resolution/],
    ] as const) {
      const r = await app.inject(`/api/entity_feature?${q({ ...names, channel: "seg", ...params })}`);
      expect(r.statusCode).toBe(400);
      expect(r.body).toMatch(message);
    }
  });
});

describe("security options", () => {
  it("sends no CORS headers by default and only for configured origins", async () => {
    const r = await app.inject({ url: "/api/experiments", headers: { origin: "http://evil.example" } });
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    const { app: a } = await makeApp({ "cors-origins": ["http://viewer.example"] });
    const ok = await a.inject({ url: "/api/experiments", headers: { origin: "http://viewer.example" } });
    expect(ok.headers["access-control-allow-origin"]).toBe("http://viewer.example");
    const bad = await a.inject({ url: "/api/experiments", headers: { origin: "http://evil.example" } });
    expect(bad.headers["access-control-allow-origin"]).toBeUndefined();
    await a.close();
  });

  it("requires the bearer token on API routes when configured", async () => {
    const { app: a } = await makeApp({ "auth-token": "s3cret-token" });
    expect((await a.inject("/api/experiments")).statusCode).toBe(401);
    expect((await a.inject({ url: "/api/experiments", headers: { authorization: "Bearer wrong-token" } })).statusCode).toBe(401);
    expect((await a.inject({ url: "/api/experiments", headers: { authorization: "Bearer s3cret-token" } })).statusCode).toBe(200);
    expect((await a.inject("/")).statusCode).toBe(200);
    await a.close();
  });

  it("refuses a configuration whose sources are outside allowed-paths", async () => {
    const config = parseConfig(configDoc({ "allowed-paths": [ds] }), { baseDir: root });
    await expect(buildApp(config)).rejects.toThrow(/outside 'allowed-paths'/);
  });

  it("serves the viewer page", async () => {
    const r = await app.inject("/");
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/text\/html/);
    expect((await app.inject("/viewer.js")).statusCode).toBe(200);
    expect((await app.inject("/../package.json")).statusCode).toBe(404);
  });
});
