-- Tell every swarmctl worker when a certificate's state changes, so a
-- worker may remember "this client certificate is a valid operator"
-- between requests and still refuse a revoked operator at once: workers
-- LISTEN on swarmctl_certificates and forget what they remembered on
-- every notification (and on every reconnection, when notifications may
-- have been missed).  New certificates need no notice: only positive
-- decisions about known certificates are remembered.
CREATE FUNCTION swarmctl_certificates_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('swarmctl_certificates', TG_OP);
    RETURN NULL;
END;
$$;

CREATE TRIGGER certificates_notify
    AFTER UPDATE OR DELETE OR TRUNCATE ON certificates
    FOR EACH STATEMENT EXECUTE FUNCTION swarmctl_certificates_changed();
