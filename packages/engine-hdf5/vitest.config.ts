import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "engine-hdf5",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    passWithNoTests: true,
    hookTimeout: 120_000,
  },
});
