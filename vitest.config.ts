import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // @actions/workflow-parser imports its JSON schemas without import attributes; let vite transform it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
