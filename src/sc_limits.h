/*
 * Limits that several layers must agree on, defined once.  (Not
 * <limits.h>: that name would shadow the system header through -Isrc.)
 */
#ifndef SC_LIMITS_H
#define SC_LIMITS_H

/*
 * A worker's name: the enrollment field, the hosts.name column, the
 * bundle directory CA_DIR/workers/<name> and the certificate's CN, which
 * RFC 5280 appendix A bounds (ub-common-name: 64).
 */
#define SC_NAME_MAX		64
/* Subject alternative names per certificate: enrollment or --san. */
#define SC_SANS_MAX		64
/* Lowercase hex SHA-256: certificate fingerprints, token hashes. */
#define SC_SHA256_HEX_LEN	64

#endif
