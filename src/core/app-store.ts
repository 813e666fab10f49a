/**
 * The apps section of the Store contract: named apps per tenant (issue 23), their versions and
 * the memory each keeps per end user. A version's config is immutable once written; publishing
 * writes the next number and makes it live, a rollback makes an older one live again. Every read
 * and write is scoped by tenant: another tenant's app does not exist for a caller.
 */
import type { AppConfig } from './app-config.js';

/** An app as listed: its name, which version is live, and that version's config. */
export interface AppRecord {
  tenantId: string;
  /** Lower-case letters, digits, `-` and `_`; what `model: "app:NAME"` names. */
  name: string;
  /** The version calls use now. */
  liveVersion: number;
  /** The highest version written (the next publish writes one more). */
  latestVersion: number;
  /** Unix ms. */
  createdAt: number;
  updatedAt: number;
  /** The live version's config. */
  config: AppConfig;
}

/** One immutable version of an app. */
export interface AppVersion {
  tenantId: string;
  app: string;
  /** 1, 2, 3, ... in the order they were published. */
  version: number;
  config: AppConfig;
  createdAt: number;
}

/** One exchange an app remembers of an end user (already cut to the memory's caps). */
export interface MemoryTurn {
  user: string;
  assistant: string;
}

/** What an app remembers of one end user (app-memory.ts decides what is kept). */
export interface AppMemory {
  tenantId: string;
  app: string;
  /** The end user's id, from the request's `user` or `metadata.user_id`. */
  user: string;
  turns: MemoryTurn[];
  updatedAt: number;
}

/** Persistence of apps, their versions and their end users' memory. */
export interface AppStore {
  /** Writes a new app with its version 1, live; false when the tenant already has an app of that name. */
  createApp(tenantId: string, name: string, config: AppConfig, at: number): Promise<boolean>;
  /** The app with its live config, or undefined. */
  getApp(tenantId: string, name: string): Promise<AppRecord | undefined>;
  /** The tenant's apps by name, each with its live config. */
  listApps(tenantId: string): Promise<AppRecord[]>;
  /** Every version of the app, oldest first; undefined when there is no such app. */
  listVersions(tenantId: string, name: string): Promise<AppVersion[] | undefined>;
  /** Writes the next version and makes it live; undefined when there is no such app. */
  publish(tenantId: string, name: string, config: AppConfig, at: number): Promise<AppVersion | undefined>;
  /** Makes an existing version live; false when the app or the version does not exist. */
  setLive(tenantId: string, name: string, version: number, at: number): Promise<boolean>;
  /** Deletes the app, its versions and its memory; false when there was none. */
  deleteApp(tenantId: string, name: string): Promise<boolean>;
  getMemory(tenantId: string, app: string, user: string): Promise<AppMemory | undefined>;
  /** Writes (or replaces) an end user's memory. */
  putMemory(memory: AppMemory): Promise<void>;
  /** Forgets an end user; false when nothing was remembered. */
  deleteMemory(tenantId: string, app: string, user: string): Promise<boolean>;
}
