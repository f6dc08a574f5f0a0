/**
 * Poll mode: rescans the repository and loads, reloads or unloads models as their folders change. A folder
 * is acted on once it looks the same on two scans in a row, so a copy in progress is not loaded half-way.
 */
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ModelStore } from './model-store.js';
import { listModelNames, modelFolderStamp } from './repository.js';

export class RepositoryPoller {
  /** Stamp of each folder when it was last acted on. */
  private readonly applied = new Map<string, string>();
  /** Stamp seen on the previous scan. */
  private readonly seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly repository: string,
    private readonly store: ModelStore,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Records the folders as loaded at startup, then scans every interval. */
  async start(): Promise<void> {
    for (const name of await listModelNames(this.repository)) {
      const stamp = await modelFolderStamp(this.repository, name);
      this.applied.set(name, stamp);
      this.seen.set(name, stamp);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan().finally(() => {
        this.scanning = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  async scan(): Promise<void> {
    let names: string[];
    try {
      names = await listModelNames(this.repository);
    } catch (error) {
      this.log.warn(describeError(error));
      return;
    }
    const present = new Set(names);
    for (const name of names) {
      if (this.stopped) return;
      const stamp = await modelFolderStamp(this.repository, name);
      const previous = this.seen.get(name);
      this.seen.set(name, stamp);
      if (stamp === this.applied.get(name) || stamp !== previous) continue;
      this.applied.set(name, stamp);
      try {
        await this.store.load(name);
      } catch (error) {
        this.log.error(`Poll: model '${name}' was not (re)loaded: ${describeError(error)}`);
      }
    }
    for (const name of [...this.applied.keys()]) {
      if (present.has(name) || this.stopped) continue;
      this.applied.delete(name);
      this.seen.delete(name);
      if (this.store.loadedModels().includes(name)) {
        await this.store
          .unload(name)
          .catch((error: unknown) => this.log.error(`Poll: model '${name}' was not unloaded: ${describeError(error)}`));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.scanning;
  }
}
