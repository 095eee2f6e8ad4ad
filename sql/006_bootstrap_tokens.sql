-- 006_bootstrap_tokens.sql: one-time bootstrap tokens.  An operator
-- creates a token for a host (name, address, sans, agent port, notes);
-- a worker with no certificate yet redeems it once with a CSR and is
-- enrolled exactly as an operator enrollment of those values would.
--
-- Run by `swarmctl migrate` inside a transaction of its own: no BEGIN or
-- COMMIT here.

-- The secret itself is never stored: only its SHA-256, so a read of
-- this table (a backup, a replica) gives nobody a usable token.
-- used_by_host has no foreign key: the host may be decommissioned later
-- and the token's history stays.
CREATE TABLE bootstrap_tokens (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	token_hash	text NOT NULL UNIQUE
		    CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	name		text NOT NULL,
	address		text NOT NULL,
	agent_port	integer NOT NULL,
	sans		jsonb NOT NULL DEFAULT '[]'
		    CHECK (jsonb_typeof(sans) = 'array'),
	notes		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	text NOT NULL,
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	used_by_host	uuid,
	revoked_at	timestamptz,
	CHECK ((used_at IS NULL) = (used_by_host IS NULL))
);
CREATE INDEX bootstrap_tokens_created_at_idx ON bootstrap_tokens (created_at);
