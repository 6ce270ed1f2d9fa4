import { describe, expect, it } from "vitest";
import { md5Hex, pythonJsonDumps } from "./pyjson.js";

describe("pythonJsonDumps", () => {
  it("matches json.dumps(indent=2) layout", () => {
    expect(pythonJsonDumps({ a: 1, b: [true, null], c: {}, d: [] })).toBe(
      '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ],\n  "c": {},\n  "d": []\n}',
    );
  });
  it("escapes like ensure_ascii", () => {
    expect(pythonJsonDumps("ä\u007f/\"\\\n\t\b\f\r😀")).toBe('"\\u00e4\\u007f/\\"\\\\\\n\\t\\b\\f\\r\\ud83d\\ude00"');
  });
  it("sorts keys on request and omits undefined members", () => {
    expect(pythonJsonDumps({ b: 1, a: undefined, c: 2 }, { sortKeys: true })).toBe('{\n  "b": 1,\n  "c": 2\n}');
  });
  it("md5Hex of empty text", () => expect(md5Hex("")).toBe("d41d8cd98f00b204e9800998ecf8427e"));
});
