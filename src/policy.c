#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "validate.h"

/* ASCII case folding: the program never calls setlocale (C locale). */
static char
lower(char c)
{
	return (char)tolower((unsigned char)c);
}

/* An IP literal of either family: its family and bytes; 0 if not one. */
static int
parse_ip(const char *s, unsigned char addr[16])
{
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return 0;
}

static void
clear_host_bits(unsigned char *addr, unsigned int bits, unsigned int prefix)
{
	unsigned int i;

	for (i = prefix; i < bits; i++)
		addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
}

static enum sc_err
allow_net(struct name_policy *p, const char *spec, const char *slash,
    struct sc_error *err)
{
	struct policy_net *n = &p->net[p->nnets];
	char host[INET6_ADDRSTRLEN + 1];
	unsigned int bits;
	size_t len = slash != NULL ? (size_t)(slash - spec) : strlen(spec);
	char *end;
	unsigned long prefix;

	if (len >= sizeof(host))
		return sc_error_set(err, SC_INVALID, "--worker-san-allow %s: "
		    "not an address", spec);
	memcpy(host, spec, len);
	host[len] = '\0';
	if ((n->family = parse_ip(host, n->addr)) == 0)
		return sc_error_set(err, SC_INVALID, "--worker-san-allow %s: "
		    "not an IP network", spec);
	bits = n->family == AF_INET ? 32 : 128;
	prefix = bits;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    (prefix = strtoul(slash + 1, &end, 10)) > bits ||
		    *end != '\0')
			return sc_error_set(err, SC_INVALID,
			    "--worker-san-allow %s: prefix length must be "
			    "0-%u", spec, bits);
	}
	n->prefix = (unsigned int)prefix;
	clear_host_bits(n->addr, bits, n->prefix);
	p->nnets++;
	return SC_OK;
}

static enum sc_err
allow_suffix(struct name_policy *p, const char *spec, struct sc_error *err)
{
	struct policy_suffix *sfx = &p->suffix[p->nsuffixes];
	const char *s = spec[0] == '.' ? spec + 1 : spec;
	size_t len = strlen(s), i;

	/* IP literals went to allow_net: this is a DNS name or nothing. */
	if (len > POLICY_NAME_MAX || !validate_host(s))
		return sc_error_set(err, SC_INVALID, "--worker-san-allow %s: "
		    "want a DNS suffix (swarm.example) or an IP network "
		    "(10.0.0.0/8)", spec);
	for (i = 0; i < len; i++)
		sfx->name[i] = lower(s[i]);
	sfx->name[len] = '\0';
	p->nsuffixes++;
	return SC_OK;
}

enum sc_err
policy_allow(struct name_policy *p, const char *spec, struct sc_error *err)
{
	unsigned char scratch[16];
	const char *slash = strchr(spec, '/');

	if (p->nsuffixes + p->nnets >= POLICY_ALLOW_MAX)
		return sc_error_set(err, SC_INVALID, "--worker-san-allow: at "
		    "most %d entries", POLICY_ALLOW_MAX);
	if (slash != NULL || parse_ip(spec, scratch) != 0)
		return allow_net(p, spec, slash, err);
	return allow_suffix(p, spec, err);
}

bool
policy_restricts(const struct name_policy *p)
{
	return p != NULL && p->nsuffixes + p->nnets > 0;
}

static bool
net_contains(const struct policy_net *n, int family,
    const unsigned char addr[16])
{
	unsigned char masked[16];

	if (n->family != family)
		return false;
	memcpy(masked, addr, sizeof(masked));
	clear_host_bits(masked, family == AF_INET ? 32 : 128, n->prefix);
	return memcmp(masked, n->addr, family == AF_INET ? 4 : 16) == 0;
}

/* `name` is `suffix` or ends in "." suffix, without regard to case. */
static bool
under_suffix(const char *name, const char *suffix)
{
	size_t nlen = strlen(name), slen = strlen(suffix), i;

	if (nlen < slen || (nlen > slen && name[nlen - slen - 1] != '.'))
		return false;
	for (i = 0; i < slen; i++)
		if (lower(name[nlen - slen + i]) != suffix[i])
			return false;
	return true;
}

bool
policy_permits(const struct name_policy *p, const char *s)
{
	unsigned char addr[16];
	size_t i;
	int family;

	if (!policy_restricts(p))
		return true;
	if ((family = parse_ip(s, addr)) != 0) {
		for (i = 0; i < p->nnets; i++)
			if (net_contains(&p->net[i], family, addr))
				return true;
		return false;
	}
	for (i = 0; i < p->nsuffixes; i++)
		if (under_suffix(s, p->suffix[i].name))
			return true;
	return false;
}

static int
compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t
policy_name_keys(const char *const *names, size_t n, char *buf,
    size_t bufsize, const char **keys, size_t maxkeys)
{
	unsigned char scratch[16];
	size_t i, j, len, used = 0, nkeys = 0, out = 0;

	for (i = 0; i < n; i++) {
		if (parse_ip(names[i], scratch) != 0)
			continue;
		len = strlen(names[i]);
		if (nkeys == maxkeys || len + 1 > bufsize - used)
			return SIZE_MAX;
		for (j = 0; j < len; j++)
			buf[used + j] = lower(names[i][j]);
		buf[used + len] = '\0';
		keys[nkeys++] = buf + used;
		used += len + 1;
	}
	qsort(keys, nkeys, sizeof(*keys), compare_keys);
	for (i = 0; i < nkeys; i++)
		if (out == 0 || strcmp(keys[out - 1], keys[i]) != 0)
			keys[out++] = keys[i];
	return out;
}
