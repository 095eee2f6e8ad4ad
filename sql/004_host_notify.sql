-- Tell every swarmctl worker when host rows change, so a worker may keep
-- the hosts it has recently shown (GET /swarm/hosts/{uuid}) and still
-- never show one that was changed or decommissioned since: workers LISTEN
-- on swarmctl_hosts and forget everything they kept on every notification
-- (and on every reconnection, when notifications may have been missed).
-- INSERT needs no notice: only hosts that were read are kept, never the
-- absence of one.  Per statement, not per row: one notice says it all.
CREATE FUNCTION swarmctl_hosts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('swarmctl_hosts', TG_OP);
    RETURN NULL;
END;
$$;

CREATE TRIGGER swarm_hosts_notify
    AFTER UPDATE OR DELETE OR TRUNCATE ON swarm_hosts
    FOR EACH STATEMENT EXECUTE FUNCTION swarmctl_hosts_changed();
