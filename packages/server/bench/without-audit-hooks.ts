/** Module resolution hooks for without-audit.ts (they run in Node's hooks thread). */
const stub = new URL('./audit-off-service.ts', import.meta.url).href;

type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: { parentURL?: string }) => Promise<Resolved>;

export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  nextResolve: NextResolve,
): Promise<Resolved> {
  const resolved = await nextResolve(specifier, context);
  // The stub itself re-exports the real module, so its own import goes through.
  if (resolved.url.endsWith('/src/audit/service.ts') && context.parentURL !== stub) {
    return { ...resolved, url: stub, shortCircuit: true };
  }
  return resolved;
}
