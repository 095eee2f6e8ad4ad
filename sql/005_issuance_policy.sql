-- 005_issuance_policy.sql: which CAs this database belongs to, which CA
-- issued each certificate, and which DNS names belong to which host.
--
-- Run by `swarmctl migrate` inside a transaction of its own: no BEGIN or
-- COMMIT here.

-- The CAs of this deployment, recorded once by `swarmctl init`.  Every
-- command compares the CA it finds in its --ca-dir with these rows and
-- refuses to run on a mismatch: a mistyped directory must not quietly
-- become a second root whose operators this database lists as valid.
--   worker: signs worker certificates (CA_DIR/ca.crt)
--   front:  signs nginx's server certificate and operator certificates
--           (CA_DIR/front-ca.crt)
CREATE TABLE ca_identity (
	role		text PRIMARY KEY CHECK (role IN ('worker', 'front')),
	-- SHA-256 of the CA certificate's DER, lowercase hex.
	fingerprint	text NOT NULL UNIQUE
		    CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
	subject		text NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT now()
);

-- Each CA publishes its own CRL, listing only what it issued.  Every
-- certificate recorded before this migration was issued by the one CA
-- there was then, which stays the worker CA (same ca.crt).
ALTER TABLE certificates ADD COLUMN ca text NOT NULL DEFAULT 'worker'
	CHECK (ca IN ('worker', 'front'));
ALTER TABLE certificates ALTER COLUMN ca DROP DEFAULT;
CREATE INDEX certificates_ca_revoked_idx ON certificates (ca)
	WHERE revoked_at IS NOT NULL;

-- A DNS name in a worker certificate (its name, a DNS address, its
-- sans) identifies one enrolled host.  DNS names compare without regard
-- to case (RFC 4343): the key is the name in ASCII lower case.  IP
-- addresses are not listed: several agents on one machine share its
-- address and are told apart by agent_port.
CREATE TABLE swarm_host_names (
	name		text PRIMARY KEY
		    CHECK (name = lower(name) AND length(name) BETWEEN 1 AND 253),
	host_uuid	uuid NOT NULL REFERENCES swarm_hosts (uuid)
		    ON DELETE CASCADE
);
CREATE INDEX swarm_host_names_host_uuid_idx ON swarm_host_names (host_uuid);

-- Hosts enrolled before now: their names (the oldest enrollment keeps a
-- name that differs only in case) and DNS addresses.  Their sans were
-- never stored and are not reserved.
INSERT INTO swarm_host_names (name, host_uuid)
SELECT DISTINCT ON (n) n, uuid
FROM (
	SELECT lower(name) AS n, uuid, enrolled_at FROM swarm_hosts
	UNION ALL
	SELECT lower(address), uuid, enrolled_at FROM swarm_hosts
	WHERE address !~ '^[0-9.]+$' AND address !~ ':'
) AS names
ORDER BY n, enrolled_at, uuid
ON CONFLICT DO NOTHING;
