// End-to-end test of the bundled viewer in headless Chromium (Debian `chromium` + playwright-core).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp, idColor, MemorySource, parseConfig } from "../src/index.js";

// Browser globals used inside page.waitForFunction callbacks (the test tsconfig has no DOM lib).
declare const document: { getElementById(id: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number } };

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const tmp = mkdtempSync(join(tmpdir(), "tile-viewer-"));
const ds = join(tmp, "ds");
const N = 64;
const gray = (z: number): number => 50 + 60 * z;
// Segmentation: rows < 8 are background (0); left half id 5, right half id 7.
const segId = (y: number, x: number): number => (y < 8 ? 0 : x < N / 2 ? 5 : 7);

let app: FastifyInstance;
let context: BrowserContext;
let page: Page;
let base: string;

async function canvasPixels(): Promise<(x: number, y: number) => [number, number, number]> {
  const png = await page.locator("#view").screenshot();
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return (x, y) => {
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };
}

function blend(g: number, id: number, a: number): [number, number, number] {
  const c = idColor(id, "uint32");
  return [0, 1, 2].map((k) => Math.round(g * (1 - a) + c[k]! * a)) as [number, number, number];
}

function expectColor(got: [number, number, number], want: [number, number, number]): void {
  for (let k = 0; k < 3; k++) expect(Math.abs(got[k]! - want[k]!), `channel ${k}: got ${got.join(",")} want ${want.join(",")}`).toBeLessThanOrEqual(3);
}

async function waitReady(z: number): Promise<void> {
  await page.waitForFunction((zz) => document.getElementById("status")?.textContent === "ready" && document.getElementById("z")?.textContent === String(zz), z, { timeout: 20_000 });
}

beforeAll(async () => {
  mkdirSync(join(ds, "em"), { recursive: true });
  for (let z = 0; z < 3; z++) {
    await sharp(new Uint8Array(N * N).fill(gray(z)), { raw: { width: N, height: N, channels: 1 } }).toColourspace("b-w").png().toFile(join(ds, "em", `${z}.png`));
  }
  writeFileSync(
    join(ds, "synapse-connections.json"),
    JSON.stringify({ neuron_1: [5, 7, 5], neuron_2: [7, 9, 9], synapse_center: { z: [1, 2, 0], y: [20, 30, 40], x: [40, 10, 20] } }),
  );
  const seg = new Uint32Array(3 * N * N);
  for (let z = 0; z < 3; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) seg[(z * N + y) * N + x] = segId(y, x);
  const config = parseConfig(
    {
      bfly: {
        "allowed-paths": [tmp],
        "db-path": join(tmp, "bfly.db"),
        experiments: [{ name: "demo", samples: [{ name: "s", datasets: [{ name: "d", path: ds, channels: [{ name: "em", path: join(ds, "em") }, { name: "seg", path: join(ds, "seg.h5") }] }] }] }],
      },
    },
    { baseDir: tmp },
  );
  app = await buildApp(config, { sources: new Map([[join(ds, "seg.h5"), new MemorySource({ data: seg, shape: [3, N, N], dtype: "uint32" })]]) });
  base = await app.listen({ port: 0, host: "127.0.0.1" });
  context = await chromium.launchPersistentContext(join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1100, height: 800 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (err) => console.error("page error:", err));
});

afterAll(async () => {
  await context?.close();
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("viewer (headless Chromium)", () => {
  it("loads, renders the image with the segmentation overlay, navigates z and shows a clicked neuron's synapses", async () => {
    await page.goto(`${base}/`);
    await waitReady(0);
    expect(await page.locator("#experiment").inputValue()).toBe("demo");
    expect(await page.locator("#image").inputValue()).toBe("em");
    expect(await page.locator("#segmentation").inputValue()).toBe("seg");
    expect(await page.locator("#z-max").textContent()).toBe("2");
    expect(JSON.parse((await page.locator("#metadata").textContent())!)).toMatchObject({ "data-type": "uint8", dimensions: { x: N, y: N, z: 3 } });

    let px = await canvasPixels();
    expectColor(px(10, 3), [gray(0), gray(0), gray(0)]);
    expectColor(px(10, 20), blend(gray(0), 5, 0.4));
    expectColor(px(50, 20), blend(gray(0), 7, 0.4));
    expectColor(px(200, 200), [0, 0, 0]); // outside the volume

    await page.click("#z-up");
    await waitReady(1);
    px = await canvasPixels();
    expectColor(px(10, 3), [gray(1), gray(1), gray(1)]);
    expectColor(px(50, 50), blend(gray(1), 7, 0.4));

    await page.locator("#view").click({ position: { x: 10, y: 50 } });
    await page.waitForFunction(() => document.getElementById("neuron-id")?.textContent === "5" && document.querySelectorAll("#synapses li").length === 2, undefined, { timeout: 20_000 });
    await waitReady(1);
    expect(await page.locator("#synapse-count").textContent()).toBe("2");
    const items = await page.locator("#synapses li").allTextContents();
    expect(items).toEqual(["#0 pre at z=1 y=20 x=40", "#2 pre at z=0 y=40 x=20"]);
    px = await canvasPixels();
    expectColor(px(10, 50), blend(gray(1), 5, 0.7)); // the selected neuron is highlighted
    expectColor(px(50, 50), blend(gray(1), 7, 0.4));
    const marker = px(45, 20); // yellow ring around synapse 0 at (y=20, x=40) on z=1
    expect(marker[0]).toBeGreaterThan(200);
    expect(marker[2]).toBeLessThan(100);

    await page.click("#zoom-out");
    await page.waitForFunction(() => document.getElementById("level")?.textContent === "1" && document.getElementById("status")?.textContent === "ready", undefined, { timeout: 20_000 });
    px = await canvasPixels();
    expectColor(px(5, 10), blend(gray(1), 5, 0.7)); // level 1: voxel (20, 10)
    expectColor(px(28, 10), blend(gray(1), 7, 0.4)); // voxel (20, 56)
    expectColor(px(40, 10), [0, 0, 0]); // beyond x = 64 at level 1
  });
});
