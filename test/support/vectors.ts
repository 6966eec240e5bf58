import { dot, normalise } from '../../libs/cache/src/vector';

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a run can be replayed. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomUnit(rand: () => number, dims: number): Float32Array {
  return normalise(Float32Array.from({ length: dims }, () => rand() - 0.5));
}

/** A unit vector at cosine similarity `similarity` to the unit vector `v`. */
export function near(v: Float32Array, similarity: number, rand: () => number): Float32Array {
  const noise = randomUnit(rand, v.length);
  const along = dot(noise, v);
  const orthogonal = normalise(noise.map((x, i) => x - along * v[i]));
  const s = Math.sqrt(1 - similarity * similarity);
  return normalise(v.map((x, i) => similarity * x + s * orthogonal[i]));
}
