/** One vendor's wording of an error: the pattern of its text, and the figures its groups give. */
export type Reading<T> = [RegExp, (figure: (i: number) => number) => T];

/** The figures of the first reading whose pattern `message` matches; undefined when none does. */
export function readFigures<T>(message: string, readings: Reading<T>[]): T | undefined {
  for (const [pattern, figures] of readings) {
    const match = pattern.exec(message);
    if (match) return figures((i) => Number(match[i]));
  }
  return undefined;
}
