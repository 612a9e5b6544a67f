import { ApiKeyNotFoundError, InvalidParameterError, UnauthorizedError } from "../errors/index.js";
import type { Clock } from "../engine/index.js";
import { newId, type ApiKeyRecord, type MetaStore } from "../store/index.js";
import { hashSecret, newSecretToken } from "./secret-token.js";

/** A key as listed: never its secret, never its hash. */
export interface ApiKeyInfo {
  id: string;
  tenant: string;
  isAdmin: boolean;
  createdAtMs: number;
  revokedAtMs: number | null;
}

/** A key just created, with the secret that is shown this once and then only kept as a hash. */
export interface CreatedApiKey extends ApiKeyInfo {
  secret: string;
}

/** The caller a valid API key identifies. */
export interface Principal {
  keyId: string;
  tenantId: string;
  tenantName: string;
  isAdmin: boolean;
}

/** Shortest secret accepted from outside (CTXSYNC_ADMIN_KEY): keeps the "plain hash suffices" argument true. */
export const MIN_IMPORTED_SECRET_LENGTH = 32;

const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * API keys of every tenant: create (the secret is returned once and stored as its SHA-256, see
 * secret-token.ts), list, revoke, and authenticate a presented secret. Used by the server's admin routes
 * and auth, and by `ctxsync keys` on a data directory.
 */
export class ApiKeyService {
  constructor(
    private readonly meta: Pick<
      MetaStore,
      "ensureTenant" | "createApiKey" | "createFirstApiKey" | "getApiKeyByHash" | "listApiKeys" | "revokeApiKey" | "countApiKeys"
    >,
    private readonly clock: Clock,
  ) {}

  /** Creates a key for tenant `tenantName` (created when new). With `secret`, imports that secret instead of making one. */
  async create(tenantName: string, opts: { isAdmin?: boolean; secret?: string } = {}): Promise<CreatedApiKey> {
    return (await this.make(tenantName, opts, (record) => this.meta.createApiKey(record).then(() => true)))!;
  }

  /** A key as `create` makes it, stored by `store`; undefined when `store` declined it. */
  private async make(
    tenantName: string,
    opts: { isAdmin?: boolean; secret?: string },
    store: (record: Omit<ApiKeyRecord, "tenantName">) => Promise<boolean>,
  ): Promise<CreatedApiKey | undefined> {
    const tenant = checkTenantName(tenantName);
    const secret = opts.secret ?? newSecretToken("csk");
    // What an HTTP header can carry, as clients check it (ApiClient): no space or control character,
    // nothing beyond Latin-1.
    if (secret.length < MIN_IMPORTED_SECRET_LENGTH || !/^[\x21-\x7e\xa1-\xff]+$/.test(secret)) {
      throw new InvalidParameterError(
        `An API key must be at least ${MIN_IMPORTED_SECRET_LENGTH} characters without spaces or control characters (Latin-1 at most); generate one with \`openssl rand -base64 32\`.`,
      );
    }
    const tenantId = await this.meta.ensureTenant(tenant);
    const record = {
      id: newId("key"),
      tenantId,
      hash: hashSecret(secret),
      isAdmin: opts.isAdmin === true,
      createdAtMs: this.clock.now(),
      revokedAtMs: null,
    };
    if (!(await store(record))) return undefined;
    return { id: record.id, tenant, isAdmin: record.isAdmin, createdAtMs: record.createdAtMs, revokedAtMs: null, secret };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.meta.listApiKeys()).map(toInfo);
  }

  /** Revokes a key; it authenticates nothing from now on. Rejects with ApiKeyNotFoundError for an unknown id. */
  async revoke(keyId: string): Promise<void> {
    if (!(await this.meta.revokeApiKey(keyId, this.clock.now()))) throw new ApiKeyNotFoundError(keyId);
  }

  /** The principal of a presented secret; UnauthorizedError when it is unknown or revoked. */
  async authenticate(secret: string): Promise<Principal> {
    const key = await this.meta.getApiKeyByHash(hashSecret(secret));
    if (!key || key.revokedAtMs !== null) throw new UnauthorizedError();
    return { keyId: key.id, tenantId: key.tenantId, tenantName: key.tenantName, isAdmin: key.isAdmin };
  }

  /**
   * On a store where no key was ever created, creates the first admin key (tenant `tenantName`): from
   * `importSecret` when given (CTXSYNC_ADMIN_KEY), else a new secret. Returns it, or undefined when the
   * store already had keys: revoking every key must not make the next start mint a new one. Atomic, so
   * of several servers starting together on one empty database exactly one makes it.
   */
  async bootstrapAdmin(tenantName: string, importSecret?: string): Promise<CreatedApiKey | undefined> {
    // Every start but the first ends here, before a tenant or a secret is made for nothing.
    if ((await this.meta.countApiKeys()) > 0) return undefined;
    return this.make(tenantName, { isAdmin: true, secret: importSecret }, (record) => this.meta.createFirstApiKey(record));
  }
}

function toInfo(k: ApiKeyRecord): ApiKeyInfo {
  return { id: k.id, tenant: k.tenantName, isAdmin: k.isAdmin, createdAtMs: k.createdAtMs, revokedAtMs: k.revokedAtMs };
}

function checkTenantName(name: string): string {
  if (typeof name !== "string" || !TENANT_NAME.test(name)) {
    throw new InvalidParameterError(
      `Invalid tenant name ${JSON.stringify(name)}: use 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
  return name;
}
