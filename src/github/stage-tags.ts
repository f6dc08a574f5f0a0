/** Stage tags through the GitHub API: the tag listing and creation the version step's store already does. */
import type { StageTagger } from '../deploy/stage-tag.js';
import type { GitHubClient } from './client.js';
import { listTagsWithPrefix, type RepositoryRef } from './tags.js';
import { GitHubVersionStore } from './version-store.js';

export function gitHubStageTagger(client: GitHubClient, repository: RepositoryRef): StageTagger {
  const store = new GitHubVersionStore(client, repository);
  return {
    where: store.where,
    tagNames: async (prefix) => (await listTagsWithPrefix(client, repository, prefix)).map((ref) => ref.name),
    async commitOfVersion(name, semver) {
      const found = (await store.listVersions(name)).find((v) => v.version === semver);
      if (!found) return undefined;
      return (await store.resolve(found)).commit || undefined;
    },
    createTag: (request) => store.createTag(request),
  };
}
