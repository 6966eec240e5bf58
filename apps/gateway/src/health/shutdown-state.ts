import { Injectable } from '@nestjs/common';

/** Set when SIGTERM arrives; readiness reports it so traffic moves elsewhere. */
@Injectable()
export class ShutdownState {
  draining = false;
  /**
   * Set when the drain's grace has run out, just before it closes the connections still open: a
   * request unanswered from then on was cut by the gateway, not left by its client (499).
   */
  graceOver = false;
  /** The requests so cut, counted as their access lines are written: the drain's summary at exit. */
  cut = 0;
}
