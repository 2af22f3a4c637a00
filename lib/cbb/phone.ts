import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/**
 * Phone numbers as CBB and WhatsApp key them: E.164 (`+972501234567`). Orders come
 * in typed by people (`050-123-4567`, `00972 50…`), so national numbers are read in
 * the branch's country. Parsing is libphonenumber's; we only decide what counts.
 */
export function toE164(raw: string, defaultCountry: CountryCode = 'IL'): string | undefined {
  const trimmed = raw.trim();
  if (trimmed === '') return undefined;
  // An international prefix written as 00 is common in Israel; libphonenumber wants +.
  const text = trimmed.startsWith('00') ? `+${trimmed.slice(2)}` : trimmed;
  const parsed = parsePhoneNumberFromString(text, defaultCountry);
  return parsed?.isValid() ? parsed.number : undefined;
}

export type { CountryCode };
