import { toE164, type CountryCode } from '../cbb/phone';
import type { MigrationDefinition } from './definition';

/**
 * Normalises orders.phone to E.164, the form CBB and WhatsApp key contacts by, so
 * that orders typed in before the CBB sync existed match the contacts it creates.
 * National numbers are read in the order's branch country. A number libphonenumber
 * cannot read is left as it is (the CBB field mapper rejects it later with a reason);
 * rewriting it to null would lose what the customer typed.
 */
export const ordersPhoneE164: MigrationDefinition = {
  name: 'orders-phone-e164',
  description: 'Normalise orders.phone to E.164 (read in the branch country) for the CBB sync',
  table: 'orders',
  key: 'id',
  column: 'phone',
  columnType: 'text',
  where: 't.phone IS NOT NULL',
  newValue: {
    inputs: ['branch'],
    compute: (row) => {
      const phone = row.phone as string;
      return toE164(phone, (row.branch as string | null)?.toUpperCase() as CountryCode | undefined) ?? phone;
    },
  },
  reversible: true,
};
