/*
 * The per-worker host cache (src/hostcache.c): an entry is served only
 * for its own uuid, under the epoch it was stored in, for less than
 * HOST_CACHE_TTL_MS; collisions replace; oversized views are not kept;
 * uuids whose hashes meet share two sets (100 hosts in the default 256
 * slots are all kept), and full sets give up their oldest entry, or
 * first one read under an older epoch.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "hostcache.h"
#include "tap.h"

#define U1	"123e4567-e89b-12d3-a456-426614174000"
#define U2	"00000000-0000-4000-8000-000000000002"

static int
holds(struct host_cache *c, const char *uuid, uint64_t epoch, uint64_t now,
    const char *want)
{
	const char *got;
	size_t len = 0;

	got = host_cache_get(c, uuid, epoch, now, &len);
	if (want == NULL)
		return got == NULL;
	return got != NULL && len == strlen(want) && memcmp(got, want, len) == 0;
}

static void
test_lifetime(void)
{
	struct host_cache *c;

	ok(host_cache_new(0) == NULL, "0 slots: no cache (caching off)");
	ok(holds(NULL, U1, 1, 0, NULL), "a NULL cache holds nothing");
	host_cache_put(NULL, U1, 1, 0, "{}", 2);
	if ((c = host_cache_new(16)) == NULL) {
		ok(0, "host_cache_new(16)");
		return;
	}
	ok(holds(c, U1, 1, 1000, NULL), "empty at first");
	host_cache_put(c, U1, 7, 1000, "{\"a\":1}", 7);
	ok(holds(c, U1, 7, 1000, "{\"a\":1}"), "served under its epoch");
	ok(holds(c, U1, 7, 1000 + HOST_CACHE_TTL_MS / 2 - 1, "{\"a\":1}"),
	    "served for at least half the TTL");
	ok(holds(c, U1, 7, 1000 + HOST_CACHE_TTL_MS, NULL),
	    "not served once the TTL has passed");
	ok(holds(c, U1, 7, 999, NULL), "not served when the clock went back");
	ok(holds(c, U1, 8, 1000, NULL), "not served under a later epoch");
	ok(holds(c, U2, 7, 1000, NULL), "another uuid is not served it");
	host_cache_put(c, U1, 8, 2000, "{\"a\":2}", 7);
	ok(holds(c, U1, 8, 2000, "{\"a\":2}"), "a new read replaces it");
	host_cache_free(c);
}

static void
test_collisions(void)
{
	struct host_cache *c;
	char big[HOST_CACHE_MAX_BODY + 1];

	/* One slot: every uuid shares it. */
	if ((c = host_cache_new(1)) == NULL) {
		ok(0, "host_cache_new(1)");
		return;
	}
	host_cache_put(c, U1, 1, 0, "one", 3);
	host_cache_put(c, U2, 1, 0, "two", 3);
	ok(holds(c, U2, 1, 0, "two"), "the newer host holds the slot");
	ok(holds(c, U1, 1, 0, NULL), "the older one is gone, not mixed up");
	memset(big, 'x', sizeof(big));
	host_cache_put(c, U1, 1, 0, big, sizeof(big));
	ok(holds(c, U1, 1, 0, NULL) && holds(c, U2, 1, 0, "two"),
	    "an oversized view is not kept (the slot keeps what it had)");
	host_cache_put(c, U1, 1, 0, big, HOST_CACHE_MAX_BODY);
	ok(host_cache_get(c, U1, 1, 0, &(size_t){ 0 }) != NULL,
	    "a view of exactly the maximum size is kept");
	host_cache_free(c);
	ok(host_cache_new(HOST_CACHE_MAX_SLOTS + 1) == NULL,
	    "more slots than the maximum are refused");
}

static void
test_sets(void)
{
	char uuids[100][DB_UUID_LEN + 1], body[16];
	struct host_cache *c;
	size_t i, kept = 0;

	if ((c = host_cache_new(256)) == NULL) {
		ok(0, "host_cache_new(256)");
		return;
	}
	for (i = 0; i < 100; i++) {
		snprintf(uuids[i], sizeof(uuids[i]),
		    "%08x-0000-4000-8000-%012x",
		    (unsigned int)(i * 2654435761u), (unsigned int)i);
		snprintf(body, sizeof(body), "host %zu", i);
		host_cache_put(c, uuids[i], 1, 0, body, strlen(body));
	}
	for (i = 0; i < 100; i++) {
		snprintf(body, sizeof(body), "host %zu", i);
		kept += holds(c, uuids[i], 1, 1, body);
	}
	is_int((int)kept, 100, "100 hosts in 256 slots: every one is kept");
	host_cache_free(c);

	/* Four slots: one set. */
	if ((c = host_cache_new(4)) == NULL) {
		ok(0, "host_cache_new(4)");
		return;
	}
	for (i = 0; i < 5; i++)
		host_cache_put(c, uuids[i], 1, i, "x", 1);
	ok(holds(c, uuids[0], 1, 5, NULL), "a full set gives up its oldest");
	for (i = 1, kept = 0; i < 5; i++)
		kept += holds(c, uuids[i], 1, 5, "x");
	is_int((int)kept, 4, "... and keeps the other four");
	host_cache_put(c, uuids[1], 2, 6, "y", 1);
	host_cache_put(c, uuids[0], 2, 7, "z", 1);
	ok(holds(c, uuids[1], 2, 8, "y") && holds(c, uuids[0], 2, 8, "z"),
	    "entries of an older epoch go first, before the oldest current one");
	host_cache_free(c);
}

int
main(void)
{
	test_lifetime();
	test_collisions();
	test_sets();
	return done_testing();
}
