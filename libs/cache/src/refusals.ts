/**
 * The ways a cache backend turns a call away by design. Kept apart from FailOpen, which imports Nest
 * and Redis: the embedder worker throws these and must load without either.
 */

/** Thrown by a backend that turns work away at once because it could not do it in time (a full queue). */
export class Overloaded extends Error {
  override readonly name = 'Overloaded';
}

/** Thrown by an embedder for a prompt its model cannot represent (a script outside its vocabulary). */
export class Unrepresentable extends Error {
  override readonly name = 'Unrepresentable';
}

/** Thrown by an offline embedder asked for a prompt before its model has loaded (the first second after start-up). */
export class Loading extends Error {
  override readonly name = 'Loading';
}
