-- 010_enrollment_insert.sql: an enrollment inserts its host row once,
-- complete, at the end of its transaction.
--
-- Run by `swarmctl migrate` inside a transaction of its own: no BEGIN or
-- COMMIT here.
--
-- An enrollment used to insert its host row first (so that its DNS names
-- could refer to it), then update it once the certificate existed.  That
-- update could not be HOT (cert_not_after is indexed): every index of
-- swarm_hosts got a second entry and the statement trigger ran, a quarter
-- of PostgreSQL's work in an enrollment.  Now the transaction reserves
-- the names first, for a uuid it chose (src/db/db.c, sc_names_reserve),
-- and inserts the host row with its certificate (sc_enroll_record) just
-- before COMMIT.  The names' reference to their host is checked at
-- COMMIT, when the row exists, so it must be deferred.  Only the check
-- waits: ON DELETE CASCADE still acts at once (PostgreSQL never defers a
-- referential action), and a transaction that would leave a name without
-- its host still fails, at its COMMIT.
ALTER TABLE swarm_host_names
	ALTER CONSTRAINT swarm_host_names_host_uuid_fkey
	DEFERRABLE INITIALLY DEFERRED;
