/*
 * The per-worker host cache (src/hostcache.c): an entry is served only
 * for its own uuid, under the epoch it was stored in, for less than
 * HOST_CACHE_TTL_MS; collisions replace; oversized views are not kept.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

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

int
main(void)
{
	test_lifetime();
	test_collisions();
	return done_testing();
}
