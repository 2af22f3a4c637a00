-- Up Migration
-- The API's /metrics counts unconfirmed WhatsApp confirmations on every scrape: a partial
-- index keeps that count a lookup of the few rows an operator still has to check.
CREATE INDEX orders_whatsapp_unconfirmed_idx ON orders (id) WHERE whatsapp_status = 'unconfirmed';

-- Down Migration
DROP INDEX orders_whatsapp_unconfirmed_idx;
