/**
 * The demo's throwaway world in one temporary folder: a git project (where versions become local tags),
 * a Triton-layout model repository (what the embedded server serves), and the deploy state (ledger, lease).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelshipError } from '../../errors.js';
import { runGit } from '../../versioning/local-git.js';

export const DEMO_MODEL = 'iris';
export const DEMO_LABELS = ['setosa', 'versicolor', 'virginica'];
export type DemoFixtureModel = 'iris-v1' | 'iris-v2' | 'iris-regressed';

/** The bundled fixtures the demo runs on. */
export interface DemoFixtures {
  root: string;
  model(name: DemoFixtureModel): string;
  /** Held-out Iris rows, JSONL. */
  heldout: string;
}

const MARKER = join('models', 'iris-v1', 'model.onnx');

/**
 * Finds the bundled `fixtures/` folder above this module: `dist/cli.js` and `src/cli/demo/workspace.ts` both
 * sit below the package root, at different depths.
 */
export function locateFixtures(start = dirname(fileURLToPath(import.meta.url))): DemoFixtures {
  for (let dir = start; ; dir = dirname(dir)) {
    const root = join(dir, 'fixtures');
    if (existsSync(join(root, MARKER))) {
      return {
        root,
        model: (name) => join(root, 'models', name, 'model.onnx'),
        heldout: join(root, 'data', 'iris', 'heldout.jsonl'),
      };
    }
    if (dirname(dir) === dir) break;
  }
  throw new ModelshipError(
    'DEMO_FIXTURES_MISSING',
    `The bundled Iris fixtures (fixtures/${MARKER.split('\\').join('/')}) were not found above ${start}.`,
    'Run the demo from a checkout of modelship (npm ci && npm run demo), or regenerate them with npm run fixtures.',
  );
}

export interface DemoWorkspace {
  root: string;
  /** A git repository holding modelship.yml and the model the way a user's repository would. */
  project: string;
  /** The model file in the project, replaced by each release. */
  modelFile: string;
  /** The held-out rows, copied into the project. */
  heldout: string;
  /** The Triton-layout model repository the server serves (the file:// deploy target). */
  repository: string;
  /** The deploy ledger and lease. */
  state: string;
  /** Copies a bundled model into the project and commits it; returns the commit. */
  commitModel(source: string, message: string): Promise<string>;
}

const CONFIG = `# The demo project's configuration: what a repository using modelship keeps at its root.
version: 1
models:
  ${DEMO_MODEL}:
    path: models/${DEMO_MODEL}/model.onnx
    task: classification
    labels: [${DEMO_LABELS.join(', ')}]
    signature:
      inputs:
        - { name: features, datatype: FP32, shape: [-1, 4] }
      outputs:
        - { name: label, datatype: INT64, shape: [-1] }
        - { name: probabilities, datatype: FP32, shape: [-1, 3] }
    fixtures:
      path: data/heldout.jsonl
    versioning:
      first-version: 1.0.0
`;

/** git with the demo's own identity and no signing, whatever the user's global configuration says. */
async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await runGit(['-c', 'commit.gpgSign=false', '-c', 'tag.gpgSign=false', ...args], {
    cwd,
    env: {
      GIT_AUTHOR_NAME: 'modelship demo',
      GIT_AUTHOR_EMAIL: 'demo@modelship.invalid',
      GIT_COMMITTER_NAME: 'modelship demo',
      GIT_COMMITTER_EMAIL: 'demo@modelship.invalid',
    },
  });
  if (result.code !== 0) {
    throw new ModelshipError('GIT_FAILED', `git ${args[0]} failed in ${cwd}: ${result.stderr}`);
  }
  return result.stdout.toString('utf8').trim();
}

/**
 * A fresh temporary folder, made synchronously so that whoever cleans up after an interrupt knows its
 * path from the first moment it exists.
 */
export const makeDemoRoot = (): string => mkdtempSync(join(tmpdir(), 'modelship-demo-'));

/** Fills `root` (from makeDemoRoot, removed by its owner) with the project, the model repository and the state. */
export async function createDemoWorkspace(fixtures: DemoFixtures, root: string): Promise<DemoWorkspace> {
  const project = join(root, 'project');
  const modelFile = join(project, 'models', DEMO_MODEL, 'model.onnx');
  const heldout = join(project, 'data', 'heldout.jsonl');
  const repository = join(root, 'serving', 'models');
  const state = join(root, 'serving', 'state');
  await Promise.all([
    mkdir(dirname(modelFile), { recursive: true }),
    mkdir(dirname(heldout), { recursive: true }),
    mkdir(repository, { recursive: true }),
    mkdir(state, { recursive: true }),
  ]);
  await Promise.all([
    writeFile(join(project, 'modelship.yml'), CONFIG),
    copyFile(fixtures.heldout, heldout),
    git(project, 'init', '--quiet', '--initial-branch=main'),
  ]);
  // Tags are annotated and need a tagger: the repository's own identity, not the user's.
  await git(project, 'config', 'user.name', 'modelship demo');
  await git(project, 'config', 'user.email', 'demo@modelship.invalid');
  await git(project, 'config', 'tag.gpgSign', 'false');
  await git(project, 'config', 'commit.gpgSign', 'false');
  return {
    root,
    project,
    modelFile,
    heldout,
    repository,
    state,
    async commitModel(source, message) {
      await copyFile(source, modelFile);
      await git(project, 'add', '--all');
      await git(project, 'commit', '--quiet', '--no-verify', '-m', message);
      return git(project, 'rev-parse', 'HEAD');
    },
  };
}
