-- 002_trust.sql: what the CA has issued and revoked, and the audit trail.
--
-- Run by `swarmctl migrate` inside a transaction of its own, like 001:
-- no BEGIN or COMMIT here.

-- Every certificate the CA issues (worker, operator, server).  The CRL is
-- made from the revoked rows, and the responder asks this table whether
-- an operator certificate is still good, so a stale CRL file in nginx can
-- never let a revoked operator in.
CREATE TABLE certificates (
	-- RFC 5280 4.1.2.2: at most 20 octets; lowercase hex, as the CRL
	-- and `openssl x509 -serial` (modulo case) show it.
	serial		text PRIMARY KEY
		    CHECK (serial ~ '^[0-9a-f]{1,40}$'),
	-- SHA-256 of the DER, lowercase hex: what operators and the
	-- responder name a certificate by.
	fingerprint	text NOT NULL UNIQUE
		    CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
	subject		text NOT NULL,		-- RFC 4514, CN first
	kind		text NOT NULL
		    CHECK (kind IN ('worker', 'operator', 'server')),
	-- No foreign key on purpose: decommissioning deletes the host row,
	-- but the record of its certificate (and of its revocation) must
	-- stay for as long as the CRL lists it.
	host_uuid	uuid NULL,
	not_after	timestamptz NOT NULL,
	issued_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz NULL,
	-- An RFC 5280 5.3.1 CRLReason name, e.g. cessationOfOperation.
	reason		text NULL,
	-- Revoked means both a time and a reason; unrevoked means neither.
	CHECK ((revoked_at IS NULL) = (reason IS NULL))
);

-- Decommission revokes by host; `swarmctl operator list` filters by kind.
CREATE INDEX certificates_host_uuid_idx ON certificates (host_uuid);
CREATE INDEX certificates_kind_idx ON certificates (kind);

-- Who did what to the control plane, including refused and failed
-- attempts.  Newest first by id (GET /swarm/audit).
CREATE TABLE audit_log (
	id		bigserial PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	-- The operator certificate's CN, 'loopback' or 'cli'.
	actor		text NOT NULL,
	-- SHA-256 of the operator certificate (NULL for loopback, cli).
	actor_fingerprint text NULL,
	action		text NOT NULL,	-- enroll, decommission, ...
	target		text NULL,	-- host name or uuid, operator
	outcome		text NOT NULL,	-- success, refused, ...
	client_addr	text NULL,
	detail		text NULL
);

-- Append-only.  An audit trail the audited program can rewrite proves
-- nothing: a bug, or an attacker holding the service's database role,
-- could otherwise quietly remove what happened.  The triggers make every
-- UPDATE, DELETE and TRUNCATE fail, whoever issues it.  (A superuser or
-- the table owner can still drop a trigger; run the service under a role
-- that does not own the table to close that too.)
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
	    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Row level for UPDATE and DELETE; TRUNCATE fires statement triggers only.
CREATE TRIGGER audit_log_no_update_delete
	BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- RFC 5280 5.2.3: CRL numbers only ever increase.  A sequence gives that
-- across processes and restarts, and never hands out a number twice even
-- when the transaction that took it rolls back.
CREATE SEQUENCE crl_number AS bigint MINVALUE 1 NO CYCLE;
