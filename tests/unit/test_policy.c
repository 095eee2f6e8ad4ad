/*
 * Unit tests for src/policy.c, the issuance policy for worker names:
 * --worker-san-allow entries (DNS suffixes with and without a leading
 * dot, matching the suffix itself and names below it, never a name that
 * merely ends in the same letters, without regard to case; IPv4 and IPv6
 * networks from /0 to a bare address; the specs it refuses; the 64-entry
 * cap), policy_permits without an allow-list, and policy_name_keys (the
 * reservation keys: DNS names only, lower case, sorted, unique, SIZE_MAX
 * when the caller's buffers are too small).
 */
#include "config.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "policy.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Large (two 64-entry tables): static, reset by each test. */
static struct name_policy pol;

static void
reset(void)
{
	memset(&pol, 0, sizeof(pol));
}

static size_t
entries(void)
{
	return pol.nsuffixes + pol.nnets;
}

/* Add an entry that must be accepted. */
static void
allow(const char *spec)
{
	struct sc_error err;

	sc_error_clear(&err);
	if (!tap_ok(policy_allow(&pol, spec, &err) == SC_OK,
	    "allow \"%s\"", spec))
		printf("#   %s\n", err.msg);
}

struct want {
	const char	*name;
	int		 permitted;
};

static void
check_permits(const struct want *w, size_t n, const char *policy)
{
	size_t i;

	for (i = 0; i < n; i++)
		ok(policy_permits(&pol, w[i].name) == (w[i].permitted != 0),
		    "%s: \"%s\" %s", policy, w[i].name, w[i].permitted ?
		    "permitted" : "refused");
}

/* ---------------------------------------------------------- suffixes */

static void
test_suffixes(void)
{
	static const struct want want[] = {
		{ "swarm.example", 1 },		/* the suffix itself */
		{ "w1.swarm.example", 1 },
		{ "a.b.swarm.example", 1 },
		{ "W1.Swarm.EXAMPLE", 1 },	/* RFC 4343: no case */
		{ "SWARM.EXAMPLE", 1 },
		{ "evilswarm.example", 0 },	/* not a label boundary */
		{ "w1.evilswarm.example", 0 },
		{ "swarm.example.evil", 0 },
		{ "example", 0 },
		{ "warm.example", 0 },
		{ "other.example", 0 },
		{ "10.0.0.1", 0 },		/* no network allowed */
		{ "::1", 0 },
	};
	static const char *specs[] = { "swarm.example", ".swarm.example",
	    "Swarm.EXAMPLE", ".SWARM.example" };
	char what[64];
	size_t i;

	for (i = 0; i < NELEM(specs); i++) {
		reset();
		ok(!policy_restricts(&pol), "empty policy restricts nothing");
		allow(specs[i]);
		ok(policy_restricts(&pol), "one suffix restricts");
		is_int(pol.nsuffixes, 1, "spec %zu: one suffix", i);
		is_int(pol.nnets, 0, "spec %zu: no network", i);
		/* Stored lower case, without the leading dot. */
		is_str(pol.suffix[0].name, "swarm.example",
		    "spec %zu: stored as swarm.example", i);
		snprintf(what, sizeof(what), "suffix spec %zu", i);
		check_permits(want, NELEM(want), what);
	}

	/* Several suffixes: any of them will do. */
	reset();
	allow("a.example");
	allow(".b.example");
	ok(policy_permits(&pol, "x.a.example") &&
	    policy_permits(&pol, "b.example") &&
	    !policy_permits(&pol, "c.example") &&
	    !policy_permits(&pol, "ab.example"),
	    "two suffixes: names under either, nothing else");

	/* A one-label suffix; digits and inner hyphens are fine. */
	reset();
	allow("lan");
	allow("x-1.internal");
	ok(policy_permits(&pol, "lan") && policy_permits(&pol, "h.lan") &&
	    !policy_permits(&pol, "plan") &&
	    policy_permits(&pol, "w.X-1.internal") &&
	    !policy_permits(&pol, "x-1internal"),
	    "one-label and hyphenated suffixes");
}

/* ---------------------------------------------------------- networks */

static void
test_networks(void)
{
	static const struct want v4_8[] = {
		{ "10.0.0.0", 1 }, { "10.0.0.1", 1 }, { "10.255.255.255", 1 },
		{ "11.0.0.0", 0 }, { "9.255.255.255", 0 },
		{ "192.0.2.1", 0 },
		{ "2001:db8::1", 0 },		/* other family */
		{ "ten.example", 0 },		/* no suffix allowed */
	};
	static const struct want v4_0[] = {
		{ "0.0.0.0", 1 }, { "192.0.2.1", 1 }, { "255.255.255.255", 1 },
		{ "::1", 0 }, { "::", 0 },
	};
	static const struct want v4_32[] = {
		{ "192.0.2.7", 1 }, { "192.0.2.6", 0 }, { "192.0.2.8", 0 },
	};
	static const struct want v6_32[] = {
		{ "2001:db8::1", 1 }, { "2001:db8:ffff:ffff::1", 1 },
		{ "2001:DB8::5", 1 }, { "2001:0db8:0000::7", 1 },
		{ "2001:db9::1", 0 }, { "2001:db7:ffff::1", 0 },
		{ "10.0.0.1", 0 },
	};
	static const struct want v6_0[] = {
		{ "::", 1 }, { "::1", 1 }, { "fe80::1", 1 },
		{ "0.0.0.0", 0 }, { "10.0.0.1", 0 },
	};
	static const struct want v6_128[] = {
		{ "2001:db8::1", 1 }, { "2001:db8:0::1", 1 },
		{ "2001:db8::2", 0 }, { "2001:db8::", 0 },
	};
	unsigned char want_addr[16];

	reset();
	allow("10.0.0.0/8");
	ok(policy_restricts(&pol), "a network restricts");
	is_int(pol.nnets, 1, "10.0.0.0/8: one network");
	is_int(pol.nsuffixes, 0, "10.0.0.0/8: no suffix");
	is_int(pol.net[0].family, AF_INET, "10.0.0.0/8: IPv4");
	is_int(pol.net[0].prefix, 8, "10.0.0.0/8: prefix 8");
	check_permits(v4_8, NELEM(v4_8), "10.0.0.0/8");

	/* Host bits in the spec are cleared, not an error. */
	reset();
	allow("10.1.2.3/8");
	inet_pton(AF_INET, "10.0.0.0", want_addr);
	ok(memcmp(pol.net[0].addr, want_addr, 4) == 0,
	    "10.1.2.3/8 is stored as 10.0.0.0");
	check_permits(v4_8, NELEM(v4_8), "10.1.2.3/8");

	reset();
	allow("0.0.0.0/0");
	is_int(pol.net[0].prefix, 0, "0.0.0.0/0: prefix 0");
	check_permits(v4_0, NELEM(v4_0), "0.0.0.0/0");

	reset();
	allow("192.0.2.7/32");
	check_permits(v4_32, NELEM(v4_32), "192.0.2.7/32");
	reset();
	allow("192.0.2.7");
	is_int(pol.net[0].prefix, 32, "a bare IPv4 address is a /32");
	check_permits(v4_32, NELEM(v4_32), "bare 192.0.2.7");

	reset();
	allow("2001:db8::/32");
	is_int(pol.net[0].family, AF_INET6, "2001:db8::/32: IPv6");
	is_int(pol.net[0].prefix, 32, "2001:db8::/32: prefix 32");
	check_permits(v6_32, NELEM(v6_32), "2001:db8::/32");
	reset();
	allow("2001:db8:1234::99/32");
	inet_pton(AF_INET6, "2001:db8::", want_addr);
	ok(memcmp(pol.net[0].addr, want_addr, 16) == 0,
	    "2001:db8:1234::99/32 is stored as 2001:db8::");

	reset();
	allow("::/0");
	check_permits(v6_0, NELEM(v6_0), "::/0");

	reset();
	allow("2001:db8::1/128");
	is_int(pol.net[0].prefix, 128, "2001:db8::1/128: prefix 128");
	check_permits(v6_128, NELEM(v6_128), "2001:db8::1/128");
	reset();
	allow("2001:db8::1");
	is_int(pol.net[0].prefix, 128, "a bare IPv6 address is a /128");
	check_permits(v6_128, NELEM(v6_128), "bare 2001:db8::1");

	/* Prefixes that do not fall on a byte boundary. */
	reset();
	allow("172.16.0.0/12");
	ok(policy_permits(&pol, "172.31.255.1") &&
	    !policy_permits(&pol, "172.32.0.1") &&
	    !policy_permits(&pol, "172.15.255.255"),
	    "172.16.0.0/12: 172.16-31 only");
	reset();
	allow("fe80::/10");
	ok(policy_permits(&pol, "febf::1") && !policy_permits(&pol, "fec0::1"),
	    "fe80::/10: fe80-febf only");

	/* Networks and suffixes together: each kind of name its own list. */
	reset();
	allow("10.0.0.0/8");
	allow("swarm.example");
	allow("2001:db8::/32");
	is_int(pol.nnets, 2, "mixed: two networks");
	is_int(pol.nsuffixes, 1, "mixed: one suffix");
	ok(policy_permits(&pol, "10.9.9.9") &&
	    policy_permits(&pol, "2001:db8::9") &&
	    policy_permits(&pol, "w.swarm.example") &&
	    !policy_permits(&pol, "192.0.2.1") &&
	    !policy_permits(&pol, "w.other.example"),
	    "mixed: either list, by the kind of name");
}

/* ------------------------------------------------------------ refused */

static void
test_refused(void)
{
	static const char *bad[] = {
		"",			/* nothing */
		".",			/* only the dot */
		"*.x",			/* wildcards are not suffixes */
		"*.swarm.example",
		"a..b",			/* empty label */
		"..a.b",
		"a.b.",			/* trailing dot */
		"-a.b",			/* hyphen first */
		"a-.b",			/* hyphen last */
		"a_b.example",		/* not LDH */
		"a b.example",
		"10.0.0.0/33",		/* prefix too long */
		"2001:db8::/129",
		"1.2.3.4/",		/* no prefix */
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/ 8",
		"10.0.0.0/8x",
		"10.0.0.0/8/8",
		"/8",			/* no address */
		"swarm.example/8",	/* a name is no network */
		"300.0.0.0/8",
		"2001:db8::g/32",
	};
	char label64[80], long_name[300];
	struct sc_error err;
	size_t i;

	reset();
	allow("keep.example");	/* refusals must not disturb it */
	for (i = 0; i < NELEM(bad); i++) {
		sc_error_clear(&err);
		is_int(policy_allow(&pol, bad[i], &err), SC_INVALID,
		    "refuse spec %zu \"%s\"", i, bad[i]);
		ok(err.msg[0] != '\0' && (bad[i][0] == '\0' ||
		    strstr(err.msg, bad[i]) != NULL),
		    "spec %zu: the message quotes it: %s", i, err.msg);
	}
	is_int(entries(), 1, "refused specs add nothing");
	ok(policy_permits(&pol, "w.keep.example") &&
	    !policy_permits(&pol, "w.example"),
	    "the accepted entry still works");

	/* RFC 1035: labels of at most 63, names of at most 253. */
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".example");
	sc_error_clear(&err);
	is_int(policy_allow(&pol, label64, &err), SC_INVALID,
	    "a 64-character label is refused");
	strcpy(label64 + 63, ".example");
	allow(label64);		/* 63: fine */
	for (i = 0; i < 126; i++)
		memcpy(long_name + 2 * i, "a.", 2);
	long_name[252] = 'a';
	long_name[253] = '\0';
	allow(long_name);	/* 253 characters */
	long_name[253] = 'b';
	long_name[254] = '\0';
	sc_error_clear(&err);
	is_int(policy_allow(&pol, long_name, &err), SC_INVALID,
	    "a 254-character name is refused");
	is_int(entries(), 3, "the two good ones added");
}

/* ---------------------------------------------------------------- cap */

static void
test_cap(void)
{
	struct sc_error err;
	char spec[64];
	size_t i;
	int all = 1;

	reset();
	for (i = 0; i < POLICY_ALLOW_MAX; i++) {
		if (i % 2 == 0)
			snprintf(spec, sizeof(spec), "s%zu.example", i);
		else
			snprintf(spec, sizeof(spec), "10.%zu.0.0/16", i);
		sc_error_clear(&err);
		if (policy_allow(&pol, spec, &err) != SC_OK) {
			printf("# %s: %s\n", spec, err.msg);
			all = 0;
		}
	}
	ok(all, "%d entries accepted", POLICY_ALLOW_MAX);
	is_int(entries(), 64, "64 entries held");
	is_int(POLICY_ALLOW_MAX, 64, "the cap is 64");
	sc_error_clear(&err);
	is_int(policy_allow(&pol, "one-more.example", &err), SC_INVALID,
	    "a 65th suffix is refused");
	ok(strstr(err.msg, "64") != NULL, "... saying the limit: %s",
	    err.msg);
	sc_error_clear(&err);
	is_int(policy_allow(&pol, "192.0.2.0/24", &err), SC_INVALID,
	    "a 65th network is refused");
	is_int(entries(), 64, "still 64 entries");
	ok(policy_permits(&pol, "w.s62.example") &&
	    policy_permits(&pol, "10.63.1.1") &&
	    !policy_permits(&pol, "w.one-more.example") &&
	    !policy_permits(&pol, "192.0.2.1"),
	    "the 64 work, the refused ones do not");
}

/* ------------------------------------------------------ no allow-list */

static void
test_unrestricted(void)
{
	static const char *names[] = { "anything.example", "x", "10.0.0.1",
	    "::1", "EVIL.example", "" };
	size_t i;

	reset();
	ok(!policy_restricts(&pol), "no entries: not restricting");
	ok(!policy_restricts(NULL), "NULL policy: not restricting");
	for (i = 0; i < NELEM(names); i++) {
		ok(policy_permits(&pol, names[i]),
		    "no entries: name %zu permitted", i);
		ok(policy_permits(NULL, names[i]),
		    "NULL policy: name %zu permitted", i);
	}
}

/* ----------------------------------------------------------- name keys */

static void
test_name_keys(void)
{
	static const char *names[] = { "B.example", "10.0.0.1", "a.example",
	    "b.EXAMPLE", "::1", "c.example", "A.EXAMPLE", "2001:db8::1",
	    "b.example" };
	static const char *ips[] = { "10.0.0.1", "::1", "192.0.2.1" };
	const char *keys[16];
	char buf[256];
	size_t n, i, raw = 0, ndns = 0, uniq;
	int inside = 1;

	for (i = 0; i < NELEM(names); i++)
		if (strchr(names[i], ':') == NULL &&
		    strcmp(names[i], "10.0.0.1") != 0) {
			raw += strlen(names[i]) + 1;
			ndns++;
		}
	uniq = strlen("a.example") + strlen("b.example") +
	    strlen("c.example") + 3;

	n = policy_name_keys(names, NELEM(names), buf, sizeof(buf), keys,
	    NELEM(keys));
	is_int(n, 3, "three keys from nine names");
	if (n == 3) {
		is_str(keys[0], "a.example", "key 0: a.example");
		is_str(keys[1], "b.example", "key 1: b.example");
		is_str(keys[2], "c.example", "key 2: c.example");
	}
	for (i = 0; i < n && n != SIZE_MAX; i++)
		if (keys[i] < buf || keys[i] >= buf + sizeof(buf))
			inside = 0;
	ok(inside, "the keys point into the caller's buffer");
	ok(strcmp(names[0], "B.example") == 0,
	    "the names themselves are left alone");

	/* Exactly enough room for every DNS name, duplicates included. */
	n = policy_name_keys(names, NELEM(names), buf, raw, keys, ndns);
	is_int(n, 3, "a buffer and key array just large enough");
	n = policy_name_keys(names, NELEM(names), buf, uniq - 1, keys,
	    NELEM(keys));
	ok(n == SIZE_MAX, "a buffer too small for the keys: SIZE_MAX");
	n = policy_name_keys(names, NELEM(names), buf, 1, keys, NELEM(keys));
	ok(n == SIZE_MAX, "a 1-byte buffer: SIZE_MAX");
	n = policy_name_keys(names, NELEM(names), buf, 0, keys, NELEM(keys));
	ok(n == SIZE_MAX, "no buffer: SIZE_MAX");
	n = policy_name_keys(names, NELEM(names), buf, sizeof(buf), keys, 2);
	ok(n == SIZE_MAX, "room for 2 keys, 3 wanted: SIZE_MAX");

	n = policy_name_keys(ips, NELEM(ips), buf, 0, keys, 0);
	is_int(n, 0, "IP literals only: no keys, no room needed");
	n = policy_name_keys(names, 0, buf, sizeof(buf), keys, NELEM(keys));
	is_int(n, 0, "no names: no keys");

	/* One name: itself, lower-cased. */
	{
		static const char *one[] = { "Worker-1.Swarm.Example" };

		n = policy_name_keys(one, 1, buf, sizeof(buf), keys, 1);
		is_int(n, 1, "one name: one key");
		if (n == 1)
			is_str(keys[0], "worker-1.swarm.example",
			    "... lower-cased");
	}

	/* Sorted byte-wise (strcmp), after lower-casing. */
	{
		static const char *mixed[] = { "z.example", "Y.example",
		    "x-1.example", "x.example", "X0.example" };

		n = policy_name_keys(mixed, NELEM(mixed), buf, sizeof(buf),
		    keys, NELEM(keys));
		is_int(n, 5, "five distinct names, five keys");
		for (i = 1; i < n && n != SIZE_MAX; i++)
			if (strcmp(keys[i - 1], keys[i]) >= 0)
				break;
		ok(n == 5 && i == n, "strictly increasing");
		if (n == 5) {
			is_str(keys[0], "x-1.example", "'-' sorts first");
			is_str(keys[4], "z.example", "z last");
		}
	}
}

int
main(void)
{
	test_suffixes();
	test_networks();
	test_refused();
	test_cap();
	test_unrestricted();
	test_name_keys();
	return done_testing();
}
