/*
 * The issuance policy for the names in worker certificates (README,
 * "Issuance policy"): an optional allow-list of DNS suffixes and IP
 * networks (`serve --worker-san-allow`), and the case-insensitive keys
 * under which a host's DNS names are reserved (swarm_host_names).
 */
#ifndef SC_POLICY_H
#define SC_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define POLICY_ALLOW_MAX	64	/* --worker-san-allow entries */
#define POLICY_NAME_MAX		253	/* RFC 1035 2.3.4 */

struct policy_net {
	int		 family;	/* AF_INET, AF_INET6 */
	unsigned char	 addr[16];	/* host bits cleared */
	unsigned int	 prefix;
};

struct policy_suffix {
	char		 name[POLICY_NAME_MAX + 1];	/* lower case, no dots around */
};

/* Empty (all zero): every name and address is allowed. */
struct name_policy {
	struct policy_suffix	 suffix[POLICY_ALLOW_MAX];
	size_t			 nsuffixes;
	struct policy_net	 net[POLICY_ALLOW_MAX];
	size_t			 nnets;
};

/*
 * Add one allow-list entry: a network ("10.0.0.0/8", "2001:db8::/32", a
 * bare address for just that one) or a DNS suffix ("swarm.example" or
 * ".swarm.example": that name and every name below it).  SC_INVALID with
 * a message for the operator otherwise.
 */
enum sc_err	 policy_allow(struct name_policy *, const char *spec,
		    struct sc_error *);
bool		 policy_restricts(const struct name_policy *);

/*
 * May a worker certificate name `s` (an IP literal or a DNS name, as
 * validate_host accepts them)?  Always true without an allow-list.
 */
bool		 policy_permits(const struct name_policy *, const char *s);

/*
 * The reservation keys of a worker's names: each DNS name among `names`
 * in ASCII lower case, IP literals left out, duplicates dropped, sorted
 * (so that two enrollments reserve common names in the same order and
 * never deadlock).  keys[i] point into `buf`, which holds them all;
 * returns how many, or SIZE_MAX if buf (or keys) is too small.
 */
size_t		 policy_name_keys(const char *const *names, size_t n,
		    char *buf, size_t bufsize, const char **keys,
		    size_t maxkeys);

#endif
