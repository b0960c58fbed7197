import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * The simulator's storage: in memory, per process, with expiry. Our own rather than
 * oidc-provider's built-in one, which warns on every start that it is for development only
 * (as this whole simulator is).
 */
type Store = Map<string, { payload: AdapterPayload; expiresAt: number }>;

/** An adapter class with its own storage: each simulator keeps its own. */
export function memoryAdapter(): new (name: string) => Adapter {
  const stores = new Map<string, Store>();
  return class extends MemoryAdapter {
    constructor(name: string) {
      let store = stores.get(name);
      if (!store) {
        store = new Map();
        stores.set(name, store);
      }
      super(store);
    }
  };
}

class MemoryAdapter implements Adapter {
  constructor(private readonly store: Store) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    this.store.set(id, { payload, expiresAt: Date.now() + expiresIn * 1000 });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = this.store.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    for (const [id, entry] of this.store) {
      if (entry.payload.userCode === userCode) return this.find(id);
    }
    return undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    for (const [id, entry] of this.store) {
      if (entry.payload.uid === uid) return this.find(id);
    }
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [id, entry] of this.store) {
      if (entry.payload.grantId === grantId) this.store.delete(id);
    }
  }
}
