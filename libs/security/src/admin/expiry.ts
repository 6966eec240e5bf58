import { ValidateBy } from 'class-validator';

/**
 * An RFC 3339 date-time: ISO 8601's extended calendar form with seconds (optionally a fraction)
 * and an explicit offset (`Z` or `±hh:mm`); seconds may be left out (`2030-01-01T00:00Z`). Other
 * ISO 8601 forms (basic `20300101T000000Z`, week `2030-W01-1`, ordinal `2030-001`, hours only,
 * a comma fraction, `±hh` offsets) were once accepted and then read by nothing (Date.parse gives
 * NaN: a key that never expired); a time without an offset names no instant (Date.parse reads it
 * in the server's time zone). Both are refused.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** What an `expiresAt` must be, for the 400 that names it. */
const EXPIRY_FORM =
  'must be an RFC 3339 date-time with its offset, as 2030-01-01T00:00:00Z or 2030-01-01T02:00:00+02:00 (a time without one would be read in the server time zone)';

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number) => (month === 2 && !leap(year) ? 28 : MONTH_DAYS[month - 1]);

/**
 * The instant `text` names, in milliseconds since the epoch, or undefined when it is not a DATE_TIME
 * (or names a day, hour, minute or second that does not exist). A fraction finer than a millisecond
 * is rounded up: the key is expired at a whole millisecond exactly when that instant has passed.
 */
export function readInstant(text: string): number | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const [, , , , , , , fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = match;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
  // Whole nanoseconds, so the rounding is exact (0.007 * 1000 is 7.000000000000001).
  const millis = Math.ceil(Number(fraction.padEnd(9, '0')) / 1e6);
  const offset = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  // Date.UTC reads years 0-99 as 1900-1999: the year is set apart (2000 is a leap year, and the day exists in `year`).
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  return date.getTime() + millis - offset * 60_000;
}

/** The stored form of an `expiresAt` readInstant reads: the same instant, in UTC as Date#toISOString writes it. */
export function normalisedExpiry(text: string): string {
  return new Date(readInstant(text)!).toISOString();
}

/** An `expiresAt` of the admin API: a string readInstant reads (EXPIRY_FORM). */
export function IsExpiry(): PropertyDecorator {
  return ValidateBy({
    name: 'isExpiry',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && readInstant(value) !== undefined,
      defaultMessage: () => `$property ${EXPIRY_FORM}`,
    },
  });
}
