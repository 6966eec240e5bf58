/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110, 11.1). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || !(header.startsWith('Bearer ') || header.slice(0, 7).toLowerCase() === 'bearer ')) return undefined;
  return header.slice(7).trim() || undefined;
}
