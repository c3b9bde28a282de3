-- API tokens expire: a token made by a student in the app, or by an operator, carries its end (UTC).
-- Tokens made before this migration have none and stay valid until revoked.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
