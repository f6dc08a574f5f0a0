/** GitHub releases: find one by tag, create one, upload an asset to it. */
import type { GitHubClient } from './client.js';
import { gitHubError } from './errors.js';
import type { RepositoryRef } from './tags.js';

export interface Release {
  id: number;
  url: string;
  uploadUrl: string;
  body?: string;
}

const status = (error: unknown): number | undefined =>
  typeof error === 'object' && error !== null ? (error as { status?: number }).status : undefined;

export async function findReleaseByTag(
  client: GitHubClient,
  repository: RepositoryRef,
  tag: string,
): Promise<Release | undefined> {
  try {
    const { data } = await client.rest.repos.getReleaseByTag({ ...repository, tag });
    return { id: data.id, url: data.html_url, uploadUrl: data.upload_url, body: data.body ?? undefined };
  } catch (error) {
    if (status(error) === 404) return undefined;
    throw gitHubError(error, `read the release of ${tag}`);
  }
}

export async function createRelease(
  client: GitHubClient,
  repository: RepositoryRef,
  request: { tag: string; name: string; body: string; prerelease: boolean },
): Promise<Release> {
  try {
    const { data } = await client.rest.repos.createRelease({
      ...repository,
      tag_name: request.tag,
      name: request.name,
      body: request.body,
      prerelease: request.prerelease,
      // Several models share one repository; "latest" would flip between them.
      make_latest: 'false',
    });
    return { id: data.id, url: data.html_url, uploadUrl: data.upload_url, body: data.body ?? undefined };
  } catch (error) {
    throw gitHubError(error, `create the release of ${request.tag}`);
  }
}

/** Uploads to the release's own upload URL, which is where GitHub (and GHES) expect assets. */
export async function uploadReleaseAsset(
  client: GitHubClient,
  release: Release,
  asset: { name: string; data: Uint8Array; contentType: string },
): Promise<{ name: string; url: string; size: number }> {
  const url = release.uploadUrl.replace(/\{[^}]*\}$/, '');
  try {
    const { data } = await client.request(`POST ${url}{?name}`, {
      name: asset.name,
      data: asset.data,
      headers: { 'content-type': asset.contentType, 'content-length': asset.data.byteLength },
    });
    const uploaded = data as { name: string; browser_download_url: string; size: number };
    return { name: uploaded.name, url: uploaded.browser_download_url, size: uploaded.size };
  } catch (error) {
    throw gitHubError(error, `upload ${asset.name} to release ${release.id}`);
  }
}
