-- Personal data masked in each transcript before it was stored or sent to the LLM (see
-- pipeline/redact.py): how many items of each kind were replaced by a placeholder.
ALTER TABLE transcripts ADD COLUMN redacted_cards INTEGER;    -- [CARD]: Luhn-valid payment card numbers
ALTER TABLE transcripts ADD COLUMN redacted_emails INTEGER;   -- [EMAIL]
ALTER TABLE transcripts ADD COLUMN redacted_phones INTEGER;   -- [PHONE]
ALTER TABLE transcripts ADD COLUMN redacted_numbers INTEGER;  -- [NUMBER]: other long digit strings (accounts, orders)
ALTER TABLE transcripts ADD COLUMN redaction VARCHAR;         -- kinds redacted, e.g. 'card,email,phone,number'; '' = off
