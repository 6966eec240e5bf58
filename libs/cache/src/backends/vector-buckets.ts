import { dot, normalise } from '../vector';

interface Bucket {
  /** Normalised mean of the bucket's vectors when it was formed. */
  anchor: Float32Array;
  keys: string[];
  vectors: Float32Array[];
}

export interface Scored {
  key: string;
  similarity: number;
}

/**
 * The unit vectors of one namespace, grouped in buckets around anchor vectors (an
 * inverted-file index that grows by splitting). A query compares itself with every
 * anchor, then scans the `probes` nearest buckets: about buckets + probes × bucketSize
 * dot products instead of one per vector. Removal is immediate, so TTL and the memory
 * cap need no rebuild. A cache only serves close neighbours, which share or border the
 * query's bucket; bench/cache.ts measures recall against an exhaustive scan.
 */
export class VectorBuckets {
  private buckets: Bucket[] = [];
  private readonly bucketOf = new Map<string, Bucket>();

  constructor(
    private readonly bucketSize = 256,
    private readonly probes = 8,
  ) {}

  get size(): number {
    return this.bucketOf.size;
  }

  add(key: string, vector: Float32Array): void {
    this.remove(key);
    let bucket = this.nearestBuckets(vector, 1)[0];
    if (!bucket) {
      bucket = { anchor: vector, keys: [], vectors: [] };
      this.buckets.push(bucket);
    }
    bucket.keys.push(key);
    bucket.vectors.push(vector);
    this.bucketOf.set(key, bucket);
    if (bucket.keys.length > this.bucketSize) this.split(bucket);
  }

  remove(key: string): void {
    const bucket = this.bucketOf.get(key);
    if (!bucket) return;
    this.bucketOf.delete(key);
    const at = bucket.keys.indexOf(key);
    const last = bucket.keys.length - 1;
    bucket.keys[at] = bucket.keys[last];
    bucket.vectors[at] = bucket.vectors[last];
    bucket.keys.pop();
    bucket.vectors.pop();
    if (!bucket.keys.length) this.buckets = this.buckets.filter((b) => b !== bucket);
  }

  /** The k most similar vectors, most similar first. */
  search(vector: Float32Array, k: number): Scored[] {
    const best = new TopK<string>(k);
    for (const { keys, vectors } of this.nearestBuckets(vector, this.probes)) {
      for (let i = 0; i < vectors.length; i++) best.offer(keys[i], dot(vector, vectors[i]));
    }
    return best.items.map((key, i) => ({ key, similarity: best.scores[i] }));
  }

  /** The `count` buckets whose anchors are most similar to the vector. */
  private nearestBuckets(vector: Float32Array, count: number): Bucket[] {
    if (this.buckets.length <= count) return this.buckets;
    const nearest = new TopK<Bucket>(count);
    for (const bucket of this.buckets) nearest.offer(bucket, dot(vector, bucket.anchor));
    return nearest.items;
  }

  /** Two rounds of 2-means inside the bucket, seeded with its anchor and its farthest member. */
  private split(bucket: Bucket): void {
    let far = 0;
    for (let i = 1; i < bucket.vectors.length; i++) {
      if (dot(bucket.anchor, bucket.vectors[i]) < dot(bucket.anchor, bucket.vectors[far])) far = i;
    }
    let seeds = [bucket.anchor, bucket.vectors[far]];
    let sides: Bucket[] = [];
    for (let round = 0; round < 2; round++) {
      sides = seeds.map((anchor) => ({ anchor, keys: [], vectors: [] }));
      bucket.vectors.forEach((v, i) => {
        const side = sides[dot(v, seeds[0]) >= dot(v, seeds[1]) ? 0 : 1];
        side.keys.push(bucket.keys[i]);
        side.vectors.push(v);
      });
      // Identical vectors cannot be split: the bucket stays oversized.
      if (!sides[0].keys.length || !sides[1].keys.length) return;
      seeds = sides.map((side) => mean(side.vectors));
    }
    sides.forEach((side, i) => (side.anchor = seeds[i]));
    this.buckets = this.buckets.filter((b) => b !== bucket).concat(sides);
    for (const side of sides) for (const key of side.keys) this.bucketOf.set(key, side);
  }
}

/** The k best-scored items seen so far, best first: a partial selection instead of a sort. */
class TopK<T> {
  readonly items: T[] = [];
  readonly scores: number[] = [];

  constructor(private readonly k: number) {}

  offer(item: T, score: number): void {
    const { items, scores, k } = this;
    if (items.length === k && score <= scores[k - 1]) return;
    let at = items.length < k ? items.length : k - 1;
    while (at > 0 && scores[at - 1] < score) {
      if (at < k) {
        items[at] = items[at - 1];
        scores[at] = scores[at - 1];
      }
      at--;
    }
    items[at] = item;
    scores[at] = score;
  }
}

function mean(vectors: Float32Array[]): Float32Array {
  const sum = new Float32Array(vectors[0].length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) sum[i] += v[i];
  return normalise(sum);
}
