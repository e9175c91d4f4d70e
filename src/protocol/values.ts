// Values that JSON cannot carry as themselves travel as tagged objects, the way Convex encodes
// them: bytes (an ArrayBuffer in handlers and clients) as {"$bytes": "<base64>"}. Encoding is
// applied on the way out (results, stored documents, client args), decoding on the way in.
// Isomorphic: the client uses it too.

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): ArrayBuffer {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function isBytesTag(value: object): value is { $bytes: string } {
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$bytes' && typeof (value as { $bytes: unknown }).$bytes === 'string';
}

/** Deeper than this, values are left alone (the depth check that follows refuses them anyway). */
const MAX_WALK_DEPTH = 66;

/** ArrayBuffers (and typed arrays) become {"$bytes"}; everything else is left as it is (same object when nothing changes). */
export function encodeValue(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof ArrayBuffer) return { $bytes: toBase64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value))
    return { $bytes: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  if (depth > MAX_WALK_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item, i) => {
      const encoded = encodeValue(item, depth + 1);
      if (encoded !== item) (copy ??= [...value])[i] = encoded;
    });
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const encoded = encodeValue(item, depth + 1);
    if (encoded !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = encoded;
  }
  return copy ?? value;
}

/** {"$bytes"} becomes an ArrayBuffer again; the same object when there is nothing to decode. */
export function decodeValue(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || value instanceof ArrayBuffer || depth > MAX_WALK_DEPTH)
    return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item, i) => {
      const decoded = decodeValue(item, depth + 1);
      if (decoded !== item) (copy ??= [...value])[i] = decoded;
    });
    return copy ?? value;
  }
  if (isBytesTag(value)) return fromBase64(value.$bytes);
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const decoded = decodeValue(item, depth + 1);
    if (decoded !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = decoded;
  }
  return copy ?? value;
}

/** Whether JSON text may hold encoded values (a cheap test before walking a parsed document). */
export function mayHoldEncodedValues(json: string): boolean {
  return json.includes('"$bytes"');
}
