-- 001_initial.sql: the swarm controller's tables (CONTRACT.md "Tables").
--
-- `swarmctl migrate` runs this file inside a transaction of its own and
-- records it in schema_migrations in the same transaction: no BEGIN or
-- COMMIT here.  Plain CREATE TABLE (no IF NOT EXISTS) on purpose: a
-- pre-existing table of another shape must stop the migration, not be
-- adopted silently.  gen_random_uuid() is built in from PostgreSQL 13.

CREATE TABLE swarm_hosts (
	uuid			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	-- UNIQUE builds the index on name the contract asks for; a second,
	-- explicit index on name would only double the write cost.
	name			text NOT NULL UNIQUE,
	address			text NOT NULL,
	agent_port		integer NOT NULL DEFAULT 8765
				    CHECK (agent_port BETWEEN 1 AND 65535),
	status			text NOT NULL DEFAULT 'enrolled',
	last_heartbeat		timestamptz NULL,
	-- Empty only inside the enrollment transaction, before the worker
	-- certificate exists; set before COMMIT.
	client_cert_fingerprint	text NOT NULL,
	cert_bundle_path	text NOT NULL,
	enrolled_at		timestamptz NOT NULL DEFAULT now(),
	notes			text NULL
);

-- GET /swarm/hosts?host_status=S
CREATE INDEX swarm_hosts_status_idx ON swarm_hosts (status);

CREATE TABLE decky_shards (
	decky_name	text PRIMARY KEY,
	-- No ON DELETE CASCADE: decommission deletes the shards explicitly,
	-- in the same transaction as the host.
	host_uuid	uuid NOT NULL REFERENCES swarm_hosts (uuid),
	services	text NOT NULL DEFAULT '[]',	-- JSON array
	state		text NOT NULL DEFAULT 'pending',
	last_error	text,
	compose_hash	text,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- Decommission deletes by host_uuid; PostgreSQL does not index the
-- referencing side of a foreign key by itself.
CREATE INDEX decky_shards_host_uuid_idx ON decky_shards (host_uuid);
