import type { Registry } from 'prom-client';

type Labels = Record<string, string | number>;
type Sample = { metricName: string; labels: Labels; value: number };

/**
 * Values by a tuple of label values, one map level per label: no key string made per lookup, and
 * the strings' hashes are cached in them. `make` (made once by the owner, not per lookup) runs once per tuple.
 */
export class LabelTree<V extends readonly unknown[], T> {
  private readonly root = new Map<unknown, unknown>();

  get(values: V, make: (values: V) => T): T {
    let level = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]) as Map<unknown, unknown> | undefined;
      if (!next) level.set(values[i], (next = new Map()));
      level = next;
    }
    let found = level.get(values[last]) as T | undefined;
    if (found === undefined) level.set(values[last], (found = make(values)));
    return found;
  }

  clear(): void {
    this.root.clear();
  }

  /** Drops every entry whose value at `depth` is `value`. */
  remove(depth: number, value: unknown): void {
    const prune = (level: Map<unknown, unknown>, at: number): void => {
      if (at === depth) return void level.delete(value);
      for (const next of level.values()) prune(next as Map<unknown, unknown>, at + 1);
    };
    prune(this.root, 0);
  }
}

/**
 * A labelled counter or histogram for the per-request hot path. prom-client validates and
 * hashes the labels on every `inc`/`observe`, even through a `labels()` child (~0.5 µs each,
 * seven a request); here a child is made once per combination of label values and recording
 * is plain arithmetic. The registry reads the children at scrape time: prom-client takes any
 * object with a name, help and `get()` as a metric, and formats it like its own.
 * Callers pass only bounded values (configured names, status codes, enums).
 */
abstract class Family<C> {
  readonly aggregator = 'sum';
  /** Children by their label values, one map level per label: no key string made per sample. */
  private readonly tree = new LabelTree<string[], C>();
  private readonly children: { labels: Labels; child: C }[] = [];

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
  ) {
    registry.registerMetric(this as never);
  }

  with(...values: string[]): C {
    return this.tree.get(values, this.make);
  }

  private readonly make = (values: string[]): C => {
    const labels: Labels = {};
    this.labelNames.forEach((name, i) => (labels[name] = values[i]));
    const child = this.create();
    this.children.push({ labels, child });
    return child;
  };

  get() {
    const values: Sample[] = [];
    for (const { labels, child } of this.children) this.export(labels, child, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.tree.clear();
    this.children.length = 0;
  }

  /** Drops every child whose `label` is `value` (a revoked key's): its series leave the next scrape. */
  remove(label: string, value: string): void {
    this.tree.remove(this.labelNames.indexOf(label), value);
    const kept = this.children.filter(({ labels }) => labels[label] !== value);
    this.children.splice(0, this.children.length, ...kept);
  }

  protected abstract create(): C;
  protected abstract export(labels: Labels, child: C, into: Sample[]): void;
}

export class CounterChild {
  value = 0;

  /** Non-finite or negative amounts are dropped (prom-client throws on them). */
  inc(by = 1): void {
    if (by >= 0 && by !== Infinity) this.value += by;
  }
}

export class HistogramChild {
  /** Per-bucket (not cumulative) counts; values above the last bound only count. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length);
  }

  /** Non-finite values are dropped (prom-client throws on them). */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.buckets[i]++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class CounterFamily extends Family<CounterChild> {
  constructor(registry: Registry, config: { name: string; help: string; labelNames: readonly string[] }) {
    super(registry, config.name, config.help, 'counter', config.labelNames);
  }

  protected create(): CounterChild {
    return new CounterChild();
  }

  protected export(labels: Labels, child: CounterChild, into: Sample[]): void {
    into.push({ metricName: this.name, labels, value: child.value });
  }
}

export class HistogramFamily extends Family<HistogramChild> {
  private readonly buckets: readonly number[];

  constructor(registry: Registry, config: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[] }) {
    super(registry, config.name, config.help, 'histogram', config.labelNames);
    this.buckets = [...config.buckets].sort((a, b) => a - b);
  }

  protected create(): HistogramChild {
    return new HistogramChild(this.buckets);
  }

  protected export(labels: Labels, child: HistogramChild, into: Sample[]): void {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += child.buckets[i];
      into.push({ metricName: bucket, labels: { le, ...labels }, value: cumulative });
    });
    into.push(
      { metricName: bucket, labels: { le: '+Inf', ...labels }, value: child.count },
      { metricName: `${this.name}_sum`, labels, value: child.sum },
      { metricName: `${this.name}_count`, labels, value: child.count },
    );
  }
}
