/**
 * The optional stage tag of a deploy: `<name>#<environment>#<N>` (GTO's "assign a stage"), an annotated
 * tag on the commit of the version's register tag `<name>@v<semver>` so GTO resolves which version holds
 * the stage. Created through the same tag stores the version step uses (GitHub API or local git).
 */
import { ModelshipError } from '../errors.js';
import type { Logger } from '../log.js';
import { LocalGitStore, runGit } from '../versioning/local-git.js';
import type { CreateTagRequest, CreateTagResult } from '../versioning/store.js';
import { formatStageTag, nextStageCounter } from '../versioning/tags.js';

/** What assigning a stage needs from where the tags live. */
export interface StageTagger {
  where: string;
  /** Names of every tag starting with `prefix`. */
  tagNames(prefix: string): Promise<string[]>;
  /** The commit the register tag of `semver` points at, when there is one. */
  commitOfVersion(name: string, semver: string): Promise<string | undefined>;
  createTag(request: CreateTagRequest): Promise<CreateTagResult>;
}

export function localStageTagger(cwd: string): StageTagger {
  const store = new LocalGitStore(cwd);
  return {
    where: store.where,
    async tagNames(prefix) {
      const result = await runGit(['for-each-ref', '--format=%(refname:strip=2)', `refs/tags/${prefix}*`], { cwd });
      if (result.code !== 0) throw new ModelshipError('GIT_FAILED', `git for-each-ref failed: ${result.stderr}.`);
      return result.stdout.toString('utf8').split('\n').filter(Boolean);
    },
    async commitOfVersion(name, semver) {
      const found = (await store.listVersions(name)).find((v) => v.version === semver);
      return found?.commit || undefined;
    },
    createTag: (request) => store.createTag(request),
  };
}

export interface StageTagResult {
  tag: string;
  commit: string;
  created: boolean;
}

/**
 * Creates the next `<name>#<stage>#<N>`. N is one above every counter the model's tags carry; when another
 * run takes that N first, it counts again (a few times).
 */
export async function assignStageTag(
  tagger: StageTagger,
  request: { name: string; stage: string; semver: string | null; fallbackCommit: string; message: string },
  log: Logger,
): Promise<StageTagResult> {
  let commit = request.fallbackCommit;
  if (request.semver) {
    const tagged = await tagger.commitOfVersion(request.name, request.semver);
    if (tagged) commit = tagged;
    else log.warn(`No register tag ${request.name}@v${request.semver}: the stage tag goes on ${commit.slice(0, 12)}.`);
  }
  for (let attempt = 0; attempt < 4; attempt++) {
    const names = [...(await tagger.tagNames(`${request.name}#`)), ...(await tagger.tagNames(`${request.name}@`))];
    const tag = formatStageTag(request.name, request.stage, nextStageCounter(request.name, names));
    const result = await tagger.createTag({ tag, commit, message: request.message });
    if (result.created) return { tag, commit, created: true };
  }
  throw new ModelshipError(
    'STAGE_TAG_RACE',
    `Could not create a stage tag for ${request.name}#${request.stage}: other runs kept taking the next counter.`,
    'Re-run the deploy; the deployment itself succeeded.',
  );
}
