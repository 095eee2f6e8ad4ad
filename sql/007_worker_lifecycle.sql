-- 007_worker_lifecycle.sql: workers renew their own certificates and
-- report in (POST /swarm/renew, POST /swarm/heartbeat).
--
-- Run by `swarmctl migrate` inside a transaction of its own: no BEGIN or
-- COMMIT here.

-- What a renewal needs to issue the same profile again without asking
-- the worker: the sans the host was enrolled with (its name and address
-- are already rows), and what the host view shows.  Hosts enrolled
-- before now keep '[]': their renewed certificates name the host and its
-- address only.
ALTER TABLE swarm_hosts
	ADD COLUMN sans jsonb NOT NULL DEFAULT '[]'
	    CHECK (jsonb_typeof(sans) = 'array'),
	-- notAfter of the host's current certificate.
	ADD COLUMN cert_not_after timestamptz NULL,
	-- What the agent said in its last heartbeat.
	ADD COLUMN agent_version text NULL
	    CHECK (length(agent_version) <= 64),
	ADD COLUMN agent_status text NULL
	    CHECK (agent_status IN ('ok', 'degraded'));

UPDATE swarm_hosts h SET cert_not_after = c.not_after
FROM certificates c WHERE c.fingerprint = h.client_cert_fingerprint;

-- GET /swarm/hosts?expiring_within=DAYS
CREATE INDEX swarm_hosts_cert_not_after_idx ON swarm_hosts (cert_not_after);

-- A renewal revokes the old certificate (reason superseded) and names
-- the one that replaced it, so a worker whose answer was lost can ask
-- again with the old certificate and get the same new one.
ALTER TABLE certificates ADD COLUMN successor text NULL
	CHECK (successor ~ '^[0-9a-f]{64}$');

-- A heartbeat (src/db/workers.c) marks its own transaction with
-- swarmctl.heartbeat = on and is not announced: with a large fleet, a
-- notice for each would make every worker forget every host it keeps,
-- all the time.  A kept view is at most a second old (src/hostcache.h),
-- which bounds how stale a cached last_heartbeat or status can be.
-- Every other change, including a hand-made UPDATE of last_heartbeat,
-- still notifies.
CREATE OR REPLACE FUNCTION swarmctl_hosts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND
       coalesce(current_setting('swarmctl.heartbeat', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('swarmctl_hosts', TG_OP);
    RETURN NULL;
END;
$$;
