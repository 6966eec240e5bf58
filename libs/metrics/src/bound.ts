import type { Counter, Histogram } from 'prom-client';

type Labelled<C> = { labels(...values: string[]): C };

/**
 * Label children bound once per combination of values, so recording a sample is a
 * map lookup and an increment instead of prom-client's label hashing each time.
 * Callers pass only bounded values (configured names, status codes, enums).
 */
export class Bound<C> {
  private readonly children = new Map<string, C>();

  constructor(private readonly metric: Labelled<C>) {}

  with(...values: string[]): C {
    const key = values.join('\u0000');
    let child = this.children.get(key);
    if (!child) {
      child = this.metric.labels(...values);
      this.children.set(key, child);
    }
    return child;
  }
}

export type CounterChild = Counter.Internal;
export type HistogramChild = Histogram.Internal<string>;
