// The error codes a response carries, for the metrics and the request log. Its own module, apart
// from metrics.ts, because the server calls it on every answered request: the server then loads
// no prom-client, which a broker without http.listeners never uses.

/**
 * The non-zero `errorCode` fields of a response: its own and those of every topic and partition
 * entry. Record bytes (Buffers) are never entered, so a fetch response costs a walk of its
 * partition entries only; a response without errors (the common case) allocates nothing.
 */
export function errorCodesIn(response: object): readonly number[] {
  return collectErrorCodes(response, 0, null) ?? NO_ERROR_CODES;
}

const NO_ERROR_CODES: readonly number[] = Object.freeze([]);

function collectErrorCodes(value: unknown, depth: number, codes: number[] | null): number[] | null {
  if (depth > 6 || value === null || typeof value !== 'object' || Buffer.isBuffer(value))
    return codes;
  if (Array.isArray(value)) {
    for (const item of value) codes = collectErrorCodes(item, depth + 1, codes);
    return codes;
  }
  const fields = value as Record<string, unknown>;
  for (const key in fields) {
    const field = fields[key];
    if (key === 'errorCode') {
      if (typeof field === 'number' && field !== 0) (codes ??= []).push(field);
    } else if (typeof field === 'object') {
      codes = collectErrorCodes(field, depth + 1, codes);
    }
  }
  return codes;
}
