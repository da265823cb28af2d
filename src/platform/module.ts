/**
 * What a module is to the server: a name (= its PostgreSQL schema, migrated from `src/modules/<name>/migrations/`) and what it
 * runs on a node that serves it (routes, event consumers, jobs). Modules are built by their own
 * `createXModule(deps)` factory with exactly the dependencies they use.
 */
import type { Consumer } from './events/bus.js';
import type { Edge } from './http/edge.js';
import type { JobQueue } from './jobs.js';

export interface WardenModule {
  readonly name: string;
  registerRoutes?(app: Edge): void | Promise<void>;
  consumers?(): Consumer[];
  registerJobs?(jobs: JobQueue): void;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
