import { CbbError } from '../../activities/cbb/client';
import { contactGoneDetail, goneContact, goneTwice } from '../../lib/cbb/contact-gone';
import { toFailure } from '../../workers/failure';

/** Which failure of a send means the contact is gone, through the worker's mapping as the workflow sees it. */

const asFailure = (err: CbbError) => toFailure(err) as { type?: string; details?: unknown[] };

test('a 404 on a send that names its contact is a gone contact, with its id', () => {
  const err = new CbbError('NotFound', 'CBB contact 7 is gone', 'not-sent', {
    upstreamStatus: 404,
    ...contactGoneDetail('7'),
  });
  expect(goneContact(asFailure(err))).toBe('7');
});

test.each([
  ['a 404 that names no contact', new CbbError('NotFound', 'CBB find: not found', 'not-sent', { upstreamStatus: 404 })],
  ['a refusal of another kind', new CbbError('ValidationError', 'no WhatsApp', 'not-sent', { contactGone: '7' })],
  ['an outage', new CbbError('Unavailable', 'CBB send: timed out', 'unknown')],
])('%s is not', (_what, err) => {
  expect(goneContact(asFailure(err))).toBeUndefined();
});

test('nothing is not', () => {
  expect(goneContact(undefined)).toBeUndefined();
});

test('the reason after a second refusal names what happened', () => {
  expect(goneTwice('7', '7')).toBe('the CBB contact 7 was gone at send time twice');
  expect(goneTwice('7', '9')).toBe('the CBB contact was gone at send time twice: 7, then 9 made again for the order');
});
