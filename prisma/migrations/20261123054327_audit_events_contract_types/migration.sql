-- Data only (the schema is unchanged, so the engine had nothing to generate): the audit trail
-- keeps to the contract's closed list of event types. Earlier versions also recorded a key's first
-- use as `api_key_first_used`, and the key's `lastUsedAt` still tells when it was last used.
DELETE FROM "audit_events" WHERE "type" = 'api_key_first_used';
