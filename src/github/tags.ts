/**
 * Git tags through the GitHub API: list the refs under one prefix (never all tags), read a tag
 * object's message, create an annotated tag (a tag object, then its ref).
 */
import type { GitHubClient } from './client.js';
import { gitHubError } from './errors.js';

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
    throw gitHubError(error, `list the tags 'refs/tags/${prefix}*'`);
  }
}

export async function getTagObject(client: GitHubClient, repository: RepositoryRef, sha: string): Promise<TagObject> {
  try {
    const { data } = await client.rest.git.getTag({ ...repository, tag_sha: sha });
    return { sha: data.sha, tag: data.tag, message: data.message, object: data.object };
  } catch (error) {
    throw gitHubError(error, `read the tag object ${sha}`);
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
    throw gitHubError(error, `create the tag object ${request.tag}`);
  }
  try {
    await client.rest.git.createRef({ ...repository, ref: `refs/tags/${request.tag}`, sha: tagObject });
  } catch (error) {
    if (status(error) === 422) return { created: false, reason: 'exists' };
    throw gitHubError(error, `create the ref refs/tags/${request.tag}`);
  }
  return { created: true, tagObject };
}
