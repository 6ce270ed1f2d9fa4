import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FlowDataManager } from "../src/index.js";
import { PYTHON, ROOT, checkFlowFile, tmpDir } from "./helpers.js";

type Op =
  | ["create_dset", string, string]
  | ["create_ref", string, string]
  | ["reserve_data", string, number]
  | ["write_ref", string, string, number[][]]
  | ["set_attrs", string, Record<string, string | number>];

const NAMES = ["a", "s/b", "s/c"];
const PAIRS: [string, string][] = [["a", "s/b"], ["s/c", "s/b"], ["a", "s/c"]];

/** Runs an operation log through FlowDataManager (the same log h5py replays). */
async function runOps(file: string, ops: Op[]): Promise<void> {
  const dm = await FlowDataManager.open(file, { mode: "w", chunkRows: 64 });
  await dm.batch(async () => {
    for (const op of ops) {
      if (op[0] === "create_dset") await dm.createDset(op[1], "int64");
      else if (op[0] === "create_ref") await dm.createRef(op[1], op[2]);
      else if (op[0] === "reserve_data") {
        const r = await dm.reserveData(op[1], op[2]);
        await dm.writeData(op[1], r, BigInt64Array.from({ length: r.stop - r.start }, (_, i) => BigInt(r.start + i)));
      } else if (op[0] === "write_ref") await dm.writeRef(op[1], op[2], op[3]);
      else await dm.setAttrs(op[1], op[2]);
    }
  });
  await dm.finish();
}

/** Random logs: datasets grow in rounds, refs are written in random batches and argument orders. */
const arbOps = fc
  .array(
    fc.record({
      grow: fc.array(fc.nat(6), { minLength: 3, maxLength: 3 }),
      batches: fc.array(fc.record({ pair: fc.nat(2), swap: fc.boolean(), rows: fc.array(fc.tuple(fc.nat(1000), fc.nat(1000)), { maxLength: 12 }) }), { maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((rounds) => {
    const ops: Op[] = NAMES.map((n) => ["create_dset", n, "<i8"] as Op);
    ops.push(["set_attrs", "a", { classname: "A", threshold: 0.5 }]);
    const len: Record<string, number> = Object.fromEntries(NAMES.map((n) => [n, 0]));
    let refsMade = false;
    for (const r of rounds) {
      r.grow.forEach((g, i) => {
        ops.push(["reserve_data", NAMES[i]!, g + 1]);
        len[NAMES[i]!]! += g + 1;
      });
      if (!refsMade) {
        for (const [p, c] of PAIRS) ops.push(["create_ref", p, c]);
        refsMade = true;
      }
      for (const b of r.batches) {
        const [p, c] = PAIRS[b.pair]!;
        const [x, y] = b.swap ? [c, p] : [p, c];
        ops.push(["write_ref", x, y, b.rows.map(([i, j]) => [i % len[x]!, j % len[y]!])]);
      }
    }
    return ops;
  });

describe("files written here equal h5py replays of the same operations", () => {
  it("random operation logs (regions incl. the widening quirk, swapped argument orders)", async () => {
    const dir = tmpDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(arbOps, async (ops) => {
        const k = run++;
        const ours = path.join(dir, `ours${k}.h5`);
        const theirs = path.join(dir, `theirs${k}.h5`);
        const log = path.join(dir, `ops${k}.json`);
        fs.writeFileSync(log, JSON.stringify(ops));
        await runOps(ours, ops);
        execFileSync(PYTHON, [path.join(ROOT, "scripts/fixtures/make_flow_replay.py"), log, theirs]);
        const c = checkFlowFile(ours, "--compare", theirs);
        expect(c.errors).toEqual([]);
      }),
      { numRuns: 12 },
    );
  });
});
