/**
 * Who is calling: the Authorization header resolved to a Principal. Local mode (a loopback
 * listener and no key ever created) lets every request in as the operator; otherwise every
 * request needs a valid key. Lookups are cached for `cacheMs`, which is therefore also the
 * longest a key revoked by another process keeps working here.
 */
import type { Clock } from '../core/clock.js';
import { NimbusError } from '../core/errors.js';
import { defaultTenantId, localPrincipal, type Principal } from '../core/principal.js';
import type { ApiKeyRecord, Limits, TenancyStore } from '../core/tenancy-store.js';
import { bearerToken, hashApiKey, hashesEqual, looksLikeApiKey } from './api-key.js';

export interface KeyResolverOptions {
  store: TenancyStore;
  clock: Clock;
  /** True on a loopback listener: while no key exists, requests need none (local mode). */
  localModeAllowed: boolean;
  /** How long a lookup is reused (and a revocation elsewhere may take to apply here). */
  cacheMs: number;
}

interface KeyEntry {
  record: ApiKeyRecord | undefined;
  principal: Principal | undefined;
  fetchedAt: number;
}

interface TenantEntry {
  limits: Limits;
  fetchedAt: number;
}

/** Requests to health endpoints, which need no key: they may do nothing else. */
export const anonymousPrincipal: Principal = {
  tenantId: defaultTenantId,
  keyId: null,
  scopes: { inference: false, admin: false, models: [], devices: [] },
  local: false,
};

/** Entries kept at most; past it the least recently used goes (a flood of random keys must not grow memory, nor evict the keys in use). */
const maxEntries = 10_000;
const noLimits: Limits = {};

const missingKey = (): NimbusError =>
  new NimbusError(
    'invalid_api_key',
    "You didn't provide an API key. Send it in an Authorization header (Authorization: Bearer nmb_...); the OpenAI clients do this from apiKey or OPENAI_API_KEY. An admin creates keys with 'nimbus keys create'.",
  );
const invalidKey = (): NimbusError =>
  new NimbusError('invalid_api_key', "Incorrect API key provided. Nimbus keys start with 'nmb_'; check it was copied whole, or ask an admin for a new one.");

export class KeyResolver {
  private keysExist = false;
  private keysCheckedAt = Number.NEGATIVE_INFINITY;
  private keysCheck: Promise<boolean> | undefined;
  private readonly keys = new Map<string, KeyEntry>();
  private readonly loading = new Map<string, Promise<KeyEntry>>();
  private readonly tenants = new Map<string, TenantEntry>();
  private readonly keyLimits = new WeakMap<Principal, Limits>();
  /** Key hashes by key id, for `principalFor` (a key's hash never changes). */
  private readonly hashesById = new Map<string, string>();
  /** Bumped by `forget`: a lookup that started before a change must not cache what it read. */
  private generation = 0;

  constructor(private readonly options: KeyResolverOptions) {}

  /**
   * The caller of a request; throws 401 with what to fix. `publicRoute`: health checks, which
   * need no key. Synchronous while the lookups it needs are cached (the hot path), async otherwise.
   */
  resolve(authorization: string | undefined, publicRoute = false): Principal | Promise<Principal> {
    if (!this.keysExist && this.options.localModeAllowed) {
      const now = this.options.clock.monotonic();
      // Local mode with both lookups fresh: no promise on the hot path.
      if (now - this.keysCheckedAt < this.options.cacheMs && this.tenantFresh(defaultTenantId, now)) return localPrincipal;
      return this.resolveWhileLocal(authorization, publicRoute);
    }
    if (publicRoute) return anonymousPrincipal;
    const token = bearerToken(authorization);
    if (!token) throw missingKey();
    if (!looksLikeApiKey(token)) throw invalidKey();
    const hash = hashApiKey(token);
    const now = this.options.clock.monotonic();
    const cached = this.keys.get(hash);
    if (cached && now - cached.fetchedAt < this.options.cacheMs && (!cached.record || this.tenantFresh(cached.record.tenantId, now))) {
      // Most recently used last: a Map keeps insertion order, so the first entry is the one to evict.
      this.keys.delete(hash);
      this.keys.set(hash, cached);
      return this.admit(cached, hash);
    }
    return this.lookup(hash).then(async (entry) => {
      if (entry.record) await this.refreshTenant(entry.record.tenantId);
      return this.admit(entry, hash);
    });
  }

  private async resolveWhileLocal(authorization: string | undefined, publicRoute: boolean): Promise<Principal> {
    if (await this.enforcing()) return this.resolve(authorization, publicRoute);
    await this.refreshTenant(defaultTenantId);
    return localPrincipal;
  }

  /** The principal of a looked-up key, or the 401 that says why not. */
  private admit(entry: KeyEntry, hash: string): Principal {
    const record = entry.record;
    if (!record || !entry.principal || !hashesEqual(record.hash, hash)) throw invalidKey();
    if (record.revokedAt !== null) throw new NimbusError('invalid_api_key', `This API key (${record.id}) was revoked. Ask an admin for a new one.`);
    if (record.expiresAt !== null && record.expiresAt <= this.options.clock.now()) {
      throw new NimbusError(
        'invalid_api_key',
        `This API key (${record.id}) expired at ${new Date(record.expiresAt).toISOString()}. Ask an admin for a new one.`,
      );
    }
    return entry.principal;
  }

  private tenantFresh(tenantId: string, now: number): boolean {
    const cached = this.tenants.get(tenantId);
    return cached !== undefined && now - cached.fetchedAt < this.options.cacheMs;
  }

  /** Whether requests need a key: always off loopback; on loopback once any key was ever created. */
  async enforcing(): Promise<boolean> {
    if (this.keysExist || !this.options.localModeAllowed) return true;
    if (this.options.clock.monotonic() - this.keysCheckedAt < this.options.cacheMs) return false;
    this.keysCheck ??= this.options.store
      .countApiKeys()
      .then((count) => {
        this.keysExist = count > 0;
        this.keysCheckedAt = this.options.clock.monotonic();
        return this.keysExist;
      })
      .finally(() => (this.keysCheck = undefined));
    return this.keysCheck;
  }

  /**
   * The principal to act as for work done off a request on a key's behalf (a batch's lines), from
   * the principal saved when the work was asked for: the key looked up again through the same
   * cache as a request's, so its limits apply and a key revoked, expired or deleted since gets
   * the 401 a request with it would get. A principal without a key (local mode) is kept as it is.
   */
  async principalFor(saved: Principal): Promise<Principal> {
    await this.refreshTenant(saved.tenantId);
    if (saved.keyId === null) return saved;
    let hash = this.hashesById.get(saved.keyId);
    if (hash === undefined) {
      const record = await this.options.store.getApiKey(saved.keyId);
      if (!record) throw new NimbusError('invalid_api_key', `The API key ${saved.keyId} no longer exists; its work cannot go on.`);
      hash = record.hash;
      if (this.hashesById.size >= maxEntries) this.hashesById.delete(this.hashesById.keys().next().value!);
      this.hashesById.set(saved.keyId, hash);
    }
    return this.admit(await this.lookup(hash), hash);
  }

  /** The limits of a principal's key and tenant, as last looked up (read on the hot path, never awaited). */
  readonly limitsOf = (principal: Principal): { key: Limits; tenant: Limits } => ({
    key: this.keyLimits.get(principal.via ?? principal) ?? noLimits,
    tenant: this.tenants.get(principal.tenantId)?.limits ?? noLimits,
  });

  /**
   * Loads a tenant's limits into the cache `limitsOf` reads, as a request of that tenant would
   * (the same freshness rule), so a read of its standing sees what its next request's admission sees.
   */
  loadTenant(tenantId: string): Promise<void> {
    return this.refreshTenant(tenantId);
  }

  /** Drops cached state after an admin change in this process, so it applies at once. */
  forget(change: { keyId?: string; tenantId?: string }): void {
    this.generation += 1;
    this.keysCheckedAt = Number.NEGATIVE_INFINITY;
    // A lookup in flight may have read the record before the change: the next request starts its own.
    this.loading.clear();
    if (change.tenantId !== undefined) this.tenants.delete(change.tenantId);
    if (change.keyId !== undefined) for (const [hash, entry] of this.keys) if (entry.record?.id === change.keyId) this.keys.delete(hash);
  }

  private async lookup(hash: string): Promise<KeyEntry> {
    const cached = this.keys.get(hash);
    if (cached && this.options.clock.monotonic() - cached.fetchedAt < this.options.cacheMs) return cached;
    let pending = this.loading.get(hash);
    if (!pending) {
      pending = this.load(hash).finally(() => this.loading.delete(hash));
      this.loading.set(hash, pending);
    }
    return pending;
  }

  private async load(hash: string): Promise<KeyEntry> {
    const generation = this.generation;
    const record = await this.options.store.findApiKeyByHash(hash);
    let principal: Principal | undefined;
    if (record) {
      principal = { tenantId: record.tenantId, keyId: record.id, scopes: record.scopes, local: false };
      this.keyLimits.set(principal, record.limits);
    }
    // Read before a change in this process: good for this request, never cached for the next.
    const fetchedAt = generation === this.generation ? this.options.clock.monotonic() : Number.NEGATIVE_INFINITY;
    const entry: KeyEntry = { record, principal, fetchedAt };
    this.keys.delete(hash);
    if (this.keys.size >= maxEntries) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(hash, entry);
    return entry;
  }

  private async refreshTenant(tenantId: string): Promise<void> {
    if (this.tenantFresh(tenantId, this.options.clock.monotonic())) return;
    const tenant = await this.options.store.getTenant(tenantId);
    this.tenants.set(tenantId, { limits: tenant?.limits ?? noLimits, fetchedAt: this.options.clock.monotonic() });
  }
}
