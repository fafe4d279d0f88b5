const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The text `bytes` encode in UTF-8, or undefined when they are not valid UTF-8 (where Buffer's
 * decoding would put U+FFFD in place of the bad bytes, and store a changed text).
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}
