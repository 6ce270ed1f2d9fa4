import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "example-engine-memory",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    passWithNoTests: true,
    hookTimeout: 180_000,
  },
});
