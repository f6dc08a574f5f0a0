/**
 * Versions as annotated tags and releases of a GitHub repository. Tags are read through the
 * matching-refs API under `<name>@v` only; a model file at an older commit is read from the local
 * checkout when it holds that commit (GitHub's contents API would cost a call per version).
 */
import { extractRecord, type VersionRecord } from '../versioning/record.js';
import type { LocalGitStore } from '../versioning/local-git.js';
import type {
  CreateReleaseRequest,
  CreateTagRequest,
  CreateTagResult,
  ReleaseAsset,
  ReleaseInfo,
  ReleaseStore,
  StoredVersion,
  VersionStore,
} from '../versioning/store.js';
import { parseTag, registerTagPrefix } from '../versioning/tags.js';
import type { GitHubClient } from './client.js';
import { createRelease, findReleaseByTag, uploadReleaseAsset, type Release } from './releases.js';
import { createAnnotatedTag, getTagObject, listTagsWithPrefix, type RepositoryRef } from './tags.js';

export class GitHubVersionStore implements VersionStore {
  readonly kind = 'github' as const;
  readonly where: string;
  readonly releases: ReleaseStore;
  private readonly messages = new Map<string, Promise<string | undefined>>();
  private readonly releaseCache = new Map<string, Promise<Release | undefined>>();

  constructor(
    private readonly client: GitHubClient,
    private readonly repository: RepositoryRef,
    /** The workflow's checkout, for model files at older commits; absent when there is none. */
    private readonly checkout?: LocalGitStore,
  ) {
    this.where = `GitHub ${repository.owner}/${repository.repo}`;
    this.releases = {
      findRelease: (tag) => this.findRelease(tag),
      createRelease: (request) => this.createRelease(request),
      uploadAsset: (release, asset) => this.uploadAsset(release, asset),
    };
  }

  async listVersions(name: string): Promise<StoredVersion[]> {
    // A release may have appeared since the last look (another run); tag objects never change.
    this.releaseCache.clear();
    const refs = await listTagsWithPrefix(this.client, this.repository, registerTagPrefix(name));
    const versions: StoredVersion[] = [];
    for (const ref of refs) {
      const parsed = parseTag(ref.name);
      if (parsed?.kind !== 'register' || parsed.name !== name) continue;
      if (ref.type === 'tag') {
        // The commit is read with the tag object, lazily; the record lives there too.
        versions.push({ version: parsed.version, tag: ref.name, commit: '', tagObject: ref.sha });
      } else if (ref.type === 'commit') {
        versions.push({ version: parsed.version, tag: ref.name, commit: ref.sha });
      }
    }
    return versions;
  }

  /** Fills in the commit of an annotated tag (one call per tag object, remembered). */
  async resolve(version: StoredVersion): Promise<StoredVersion> {
    if (version.commit || !version.tagObject) return version;
    const object = await getTagObject(this.client, this.repository, version.tagObject);
    this.messages.set(version.tagObject, Promise.resolve(object.message));
    version.commit = object.object.type === 'commit' ? object.object.sha : '';
    return version;
  }

  async readRecord(version: StoredVersion): Promise<VersionRecord | undefined> {
    if (version.tagObject) {
      let message = this.messages.get(version.tagObject);
      if (!message) {
        message = getTagObject(this.client, this.repository, version.tagObject).then((object) => {
          if (!version.commit && object.object.type === 'commit') version.commit = object.object.sha;
          return object.message;
        });
        this.messages.set(version.tagObject, message);
      }
      const record = extractRecord(await message);
      if (record) return record;
    }
    const release = await this.findRelease(version.tag);
    return extractRecord(release?.body);
  }

  async readFileAt(version: StoredVersion, path: string): Promise<Uint8Array | undefined> {
    if (!this.checkout) return undefined;
    const resolved = await this.resolve(version);
    if (!resolved.commit || !(await this.checkout.hasCommit(resolved.commit))) return undefined;
    return this.checkout.readFileAt(resolved, path);
  }

  async createTag(request: CreateTagRequest): Promise<CreateTagResult> {
    const result = await createAnnotatedTag(this.client, this.repository, request);
    return result.created ? { created: true } : result;
  }

  private findRelease(tag: string): Promise<ReleaseInfo | undefined> {
    let release = this.releaseCache.get(tag);
    if (!release) {
      release = findReleaseByTag(this.client, this.repository, tag);
      this.releaseCache.set(tag, release);
    }
    return release;
  }

  private async createRelease(request: CreateReleaseRequest): Promise<ReleaseInfo> {
    const release = await createRelease(this.client, this.repository, request);
    this.releaseCache.set(request.tag, Promise.resolve(release));
    return release;
  }

  private async uploadAsset(
    release: ReleaseInfo,
    asset: { name: string; data: Uint8Array; contentType: string },
  ): Promise<ReleaseAsset> {
    return uploadReleaseAsset(this.client, { ...release, uploadUrl: release.uploadUrl ?? '' }, asset);
  }
}
