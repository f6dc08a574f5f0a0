import { ensureBuilt } from './build.js';

/** Runs once per vitest run, before any test file: action tests run the built bundles. */
export default function setup(): void {
  ensureBuilt();
}
