/**
 * Git tags through the GitHub API: list the refs under one prefix (never all tags), read a tag
 * object's message, create an annotated tag (a tag object, then its ref).
 */
import { ModelshipError } from '../errors.js';
import type { GitHubClient } from './client.js';

export interface RepositoryRef {
  owner: string;
  repo: string;
}

export interface TagRef {
  /** The tag name, without `refs/tags/`. */
  name: string;
  /** `tag` for an annotated tag (sha is the tag object), `commit` for a lightweight one. */
  type: string;
  sha: string;
}

export interface TagObject {
  sha: string;
  tag: string;
  message: string;
  /** What the tag points at. */
  object: { type: string; sha: string };
}

const status = (error: unknown): number | undefined =>
  typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number'
    ? (error as { status: number }).status
    : undefined;

/** One ModelshipError for any failed call, naming what was attempted and what to check. */
export function gitHubError(what: string, error: unknown): ModelshipError {
  const code = status(error);
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    code === 401
      ? 'The token is missing or invalid; pass a token (the workflow default is `${{ github.token }}`).'
      : code === 403
        ? "The token may not write tags or releases: grant 'permissions: contents: write' to the job."
        : code === 404
          ? "Check the repository name, and that the token can read it ('permissions: contents: read' at least)."
          : undefined;
  return new ModelshipError(
    'GITHUB_API',
    `GitHub API: ${what} failed${code ? ` (${code})` : ''}: ${message}`,
    hint,
    undefined,
    {
      cause: error,
    },
  );
}

/** Every tag whose name starts with `prefix`, through the matching-refs API. */
export async function listTagsWithPrefix(
  client: GitHubClient,
  repository: RepositoryRef,
  prefix: string,
): Promise<TagRef[]> {
  try {
    const refs = await client.paginate(client.rest.git.listMatchingRefs, {
      ...repository,
      ref: `tags/${prefix}`,
      per_page: 100,
    });
    return refs
      .filter((ref) => ref.ref.startsWith('refs/tags/'))
      .map((ref) => ({ name: ref.ref.slice('refs/tags/'.length), type: ref.object.type, sha: ref.object.sha }));
  } catch (error) {
    throw gitHubError(`listing tags 'refs/tags/${prefix}*'`, error);
  }
}

export async function getTagObject(client: GitHubClient, repository: RepositoryRef, sha: string): Promise<TagObject> {
  try {
    const { data } = await client.rest.git.getTag({ ...repository, tag_sha: sha });
    return { sha: data.sha, tag: data.tag, message: data.message, object: data.object };
  } catch (error) {
    throw gitHubError(`reading tag object ${sha}`, error);
  }
}

export interface CreateAnnotatedTagRequest {
  tag: string;
  commit: string;
  message: string;
  tagger?: { name: string; email: string; date?: string };
}

/**
 * Creates the tag object, then `refs/tags/<tag>`. `exists` when the ref is already there (GitHub answers
 * 422): another run won the race. The tag object left behind is unreachable and harmless.
 */
export async function createAnnotatedTag(
  client: GitHubClient,
  repository: RepositoryRef,
  request: CreateAnnotatedTagRequest,
): Promise<{ created: true; tagObject: string } | { created: false; reason: 'exists' }> {
  let tagObject: string;
  try {
    const { data } = await client.rest.git.createTag({
      ...repository,
      tag: request.tag,
      message: request.message,
      object: request.commit,
      type: 'commit',
      ...(request.tagger ? { tagger: request.tagger } : {}),
    });
    tagObject = data.sha;
  } catch (error) {
    throw gitHubError(`creating tag object ${request.tag}`, error);
  }
  try {
    await client.rest.git.createRef({ ...repository, ref: `refs/tags/${request.tag}`, sha: tagObject });
  } catch (error) {
    if (status(error) === 422) return { created: false, reason: 'exists' };
    throw gitHubError(`creating ref refs/tags/${request.tag}`, error);
  }
  return { created: true, tagObject };
}
