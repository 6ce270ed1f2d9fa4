import { defineConfig } from "vitest/config";

// One vitest process for the whole workspace; every package also has its own config
// so `vitest run` inside a package works (toolchain pitfall 13).
export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
  },
});
