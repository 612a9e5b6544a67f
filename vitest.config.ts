import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Scenario tests spawn processes and move real bytes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // The AWS SDK warns once per process that its 2027 releases need Node 22: true, and known (README).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
