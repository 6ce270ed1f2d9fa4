import { describe, expect, it } from "vitest";
import { computeMeasurementIdentifier } from "./identifier.js";

const enc = (s: string, pad = 0): Uint8Array => {
  const b = new Uint8Array(s.length + pad);
  b.set(new TextEncoder().encode(s));
  return b;
};

describe("measurement identifier (spec §8 test vectors)", () => {
  it.each([
    ["14:19:42", "2022-05-11", "ZMDD-AcC-774f84-3da488", "01cd05a0-e084-0451-c470-2a2bf13c9e2d"],
    ["15:24:17", "2022-04-21", "RC-0115-mock-mock-mock-win-a92d", "d5a40aed-0b6c-0412-e87c-59789fdd28d0"],
    ["10:37:15", "2020-10-23", "ZMDD-AcC-478cb7-dc924c", "920f44b7-42e8-b15e-1847-40f20e8ca1e7"],
    ["12:01", "2024-06-23", "RC-peter-pan-and-friends", "f0cfdc6f-93c7-c093-d135-a20f3e5bdbfa"],
    ["12:11:33", "2023-12-13", "ZMDD-AcC-774f84-3da488", "b2bacea5-8f08-833e-7877-8e96c7c97d64"],
  ])("%s %s %s → %s", (time, date, setup, id) => {
    expect(
      computeMeasurementIdentifier({ "experiment:time": time, "experiment:date": date, "setup:identifier": setup }),
    ).toBe(id);
  });

  it("run identifier wins", () => {
    expect(
      computeMeasurementIdentifier({
        "experiment:run identifier": "2024-rcs-example-data-ndio1287",
        "experiment:time": "1", "experiment:date": "2", "setup:identifier": "3",
      }),
    ).toBe("2024-rcs-example-data-ndio1287");
  });

  it("empty run identifier falls back; missing inputs give null", () => {
    expect(computeMeasurementIdentifier({ "experiment:run identifier": "", "experiment:time": "12:01", "experiment:date": "2024-06-23", "setup:identifier": "RC-peter-pan-and-friends" })).toBe(
      "f0cfdc6f-93c7-c093-d135-a20f3e5bdbfa",
    );
    expect(computeMeasurementIdentifier({ "experiment:time": "12:01", "experiment:date": "2024-06-23" })).toBeNull();
    expect(computeMeasurementIdentifier({ "experiment:time": "", "experiment:date": "x", "setup:identifier": "y" })).toBeNull();
  });

  it("byte-string gotcha: dclab decodes, dcnum formats b'…'", () => {
    const meta = { "experiment:time": "16:11:38", "experiment:date": "2015-05-27", "setup:identifier": enc("ZMDD-AcC-a8548d-ce00be", 3) };
    expect(computeMeasurementIdentifier(meta)).toBe("12b4490f-6c58-13b1-bddd-5d8e2332b60b");
    expect(computeMeasurementIdentifier(meta, { variant: "dcnum" })).toBe("b26306f4-f46e-bd6a-95a1-dba4de02a794");
  });
});
