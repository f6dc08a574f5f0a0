/**
 * Where versions live: git tags (and, on GitHub, releases). The version step speaks to this interface;
 * src/versioning/local-git.ts implements it with the git CLI in a checkout, src/github/version-store.ts
 * with the GitHub API.
 */
import type { VersionRecord } from './record.js';

/** One register tag of a model. */
export interface StoredVersion {
  version: string;
  tag: string;
  /** The commit the tag points at. */
  commit: string;
  /** The tag object, for an annotated tag. */
  tagObject?: string;
}

export interface CreateTagRequest {
  tag: string;
  commit: string;
  message: string;
}

/** `exists`: the tag appeared between reading and writing (another run won the race). */
export type CreateTagResult = { created: true } | { created: false; reason: 'exists' };

export interface ReleaseInfo {
  id: number;
  url: string;
  uploadUrl?: string;
  body?: string;
}

export interface CreateReleaseRequest {
  tag: string;
  name: string;
  body: string;
  prerelease: boolean;
}

export interface ReleaseAsset {
  name: string;
  url: string;
  size: number;
}

export interface ReleaseStore {
  findRelease(tag: string): Promise<ReleaseInfo | undefined>;
  createRelease(request: CreateReleaseRequest): Promise<ReleaseInfo>;
  uploadAsset(
    release: ReleaseInfo,
    asset: { name: string; data: Uint8Array; contentType: string },
  ): Promise<ReleaseAsset>;
}

export interface VersionStore {
  /** `git` works in a local checkout; `github` through the API. */
  readonly kind: 'git' | 'github';
  /** Where, in words: `git repository /path` or `GitHub owner/repo`. */
  readonly where: string;
  /** The register tags of exactly this model (other models' tags never come back), in no order. */
  listVersions(name: string): Promise<StoredVersion[]>;
  /** The record in the tag's annotation, or else in its release; undefined when neither has one. */
  readRecord(version: StoredVersion): Promise<VersionRecord | undefined>;
  /** The bytes of `path` (relative to the repository root) at the version's commit, when they can be read. */
  readFileAt(version: StoredVersion, path: string): Promise<Uint8Array | undefined>;
  /** An annotated tag: a tag object carrying `message`, then the ref. */
  createTag(request: CreateTagRequest): Promise<CreateTagResult>;
  /** Present where releases exist (GitHub). */
  readonly releases?: ReleaseStore;
}
