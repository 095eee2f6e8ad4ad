-- 008_quiet_enrollment.sql: an enrollment's update of the host row it
-- has just inserted is not announced.
--
-- Run by `swarmctl migrate` inside a transaction of its own: no BEGIN or
-- COMMIT here.
--
-- An enrollment inserts its host row, then (once the certificate exists)
-- sets the row's fingerprint in the same transaction.  No other session
-- can have seen that row before it commits, so no worker keeps it and
-- the notice would tell nobody anything.  It would cost a great deal:
-- PostgreSQL lets one notifying transaction commit at a time (the
-- notification queue is appended to in commit order, under one lock held
-- through the commit's WAL flush), so concurrent enrollments that notify
-- cannot share WAL flushes.  The enrollment (src/db/db.c,
-- sc_enroll_record) marks its transaction with swarmctl.new_host = on.
-- Renewals, decommissions, hand-made updates and everything else still
-- notify; heartbeats stay as 007 made them.
CREATE OR REPLACE FUNCTION swarmctl_hosts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND
       (coalesce(current_setting('swarmctl.heartbeat', true), '') = 'on' OR
        coalesce(current_setting('swarmctl.new_host', true), '') = 'on') THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('swarmctl_hosts', TG_OP);
    RETURN NULL;
END;
$$;
