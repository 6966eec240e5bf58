/**
 * Redis key names of one gateway key's limits and spend. All share the hash tag
 * `{<key id>}`, so the admission and settle scripts that touch them together run
 * on one Redis Cluster slot.
 */
export const limitKeys = (keyId: string) => {
  const tag = `gateway:{${keyId}}`;
  return {
    rpm: `${tag}:rpm`,
    tpm: `${tag}:tpm`,
    /**
     * Of the TPM window's count, the tokens reserved by requests in flight and by replicas' leases,
     * expiring with the window: what is left is settled use, which a refusal tells apart.
     */
    tpmInFlight: `${tag}:tpm:inflight`,
    /** Sum of the budget reservations of requests in flight (USD). */
    held: `${tag}:held`,
    /** The same reservations by member `<id>:<usd>`, scored by when they lapse (a replica died before settling). */
    holds: `${tag}:holds`,
    /** When each replica's open lease of the RPM/TPM windows ends (Redis time, ms), by replica. */
    leases: `${tag}:leases`,
    /** What the script call `id` did, kept a while so that a call whose answer was lost counts exactly once. */
    call: (id: string) => `${tag}:call:${id}`,
    /**
     * On a Redis Cluster, the key's own data marker (spend-recovery.ts), in the slot of its spend: gone or
     * replaced, that slot's shard lost its data.
     */
    marker: `${tag}:data-marker`,
  };
};
