/**
 * The longest delay Node's timers keep: 2^31 - 1 ms, ~24.8 days. A longer one fires after 1 ms
 * (with only a TimeoutOverflowWarning), so a setting that sets a timer is refused above it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
