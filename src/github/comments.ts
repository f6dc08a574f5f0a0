/**
 * One pull-request comment per purpose, found again by a hidden marker and edited in place, so a pull
 * request gets one comment that follows its pushes rather than one comment per push. Needs only
 * `pull-requests: write` (or `issues: write`).
 */
import { isModelshipError, ModelshipError } from '../errors.js';
import type { Logger } from '../log.js';
import { createGitHubClient } from './client.js';
import { gitHubError } from './errors.js';

export interface CommentTarget {
  token: string;
  /** REST API root; GITHUB_API_URL when left out. */
  apiUrl?: string;
  owner: string;
  repo: string;
  /** The pull request (or issue) number. */
  issueNumber: number;
}

export type CommentOutcome =
  | { status: 'created' | 'updated' | 'unchanged'; id: number; url: string }
  /** GitHub refused or failed; the caller warns and goes on. */
  | { status: 'failed'; error: ModelshipError };

/** The hidden line that identifies a comment, e.g. `<!-- modelship:evaluate:iris -->`. */
export const commentMarker = (key: string): string => `<!-- modelship:${key.replace(/--+/g, '-')} -->`;

export async function upsertComment(
  target: CommentTarget,
  marker: string,
  body: string,
  log?: Logger,
): Promise<CommentOutcome> {
  const client = createGitHubClient({ token: target.token, baseUrl: target.apiUrl, log });
  const { owner, repo, issueNumber } = target;
  const text = body.includes(marker) ? body : `${marker}\n${body}`;
  let step = `list the comments of #${issueNumber}`;
  try {
    let found: { id: number; body?: string | null; html_url: string } | undefined;
    for await (const page of client.paginate.iterator(client.rest.issues.listComments, {
      owner,
      repo,
      issue_number: issueNumber,
      per_page: 100,
    })) {
      found = page.data.find((c) => c.body?.includes(marker));
      if (found) break;
    }
    if (found) {
      if (found.body === text) return { status: 'unchanged', id: found.id, url: found.html_url };
      step = `update comment ${found.id} on #${issueNumber}`;
      const { data } = await client.rest.issues.updateComment({ owner, repo, comment_id: found.id, body: text });
      return { status: 'updated', id: data.id, url: data.html_url };
    }
    step = `comment on #${issueNumber}`;
    const { data } = await client.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body: text });
    return { status: 'created', id: data.id, url: data.html_url };
  } catch (error) {
    const mapped = gitHubError(error, step);
    if (isModelshipError(mapped)) return { status: 'failed', error: mapped };
    throw mapped;
  }
}
