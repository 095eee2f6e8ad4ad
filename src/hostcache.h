/*
 * What one worker remembers of the hosts it has recently shown: the
 * rendered SwarmHostView of GET /swarm/hosts/{uuid}, by uuid.  An entry
 * is good only under the host epoch it was read in (db_host_epoch: moves
 * on any change to host rows) and for HOST_CACHE_TTL_MS at most (at
 * least half of it, depending on the uuid), so a delayed notification
 * can cost at most that long.  Set-associative: a uuid may sit in any
 * of the HOST_CACHE_WAYS slots of either of its two sets, and a newer
 * host replaces an entry of no use any more, else the oldest.  Owned by
 * one worker thread: no locking.  Hosts hold no secrets, so nothing is
 * wiped.
 */
#ifndef SC_HOSTCACHE_H
#define SC_HOSTCACHE_H

#include <stddef.h>
#include <stdint.h>

#define HOST_CACHE_TTL_MS	1000
/* Larger views (long notes) are not kept: they would crowd memory. */
#define HOST_CACHE_MAX_BODY	2048
#define HOST_CACHE_MAX_SLOTS	65536
/* Slots a set: a cache of N slots has N / 4 sets (all of them, below 4). */
#define HOST_CACHE_WAYS		4

struct host_cache;

/* NULL when slots is 0 (caching off) or memory is short. */
struct host_cache	*host_cache_new(size_t slots);
void			 host_cache_free(struct host_cache *);

/*
 * The body kept for `uuid` (canonical text) if it was stored under
 * `epoch` less than its lifetime (HOST_CACHE_TTL_MS/2 to
 * HOST_CACHE_TTL_MS) before now_ms (a monotonic clock), else NULL.  Valid until the next host_cache_put.  c may be NULL.
 */
const char		*host_cache_get(struct host_cache *c, const char *uuid,
			    uint64_t epoch, uint64_t now_ms, size_t *len);
/* Keep `body` for `uuid`, read under `epoch` at now_ms (best effort). */
void			 host_cache_put(struct host_cache *c, const char *uuid,
			    uint64_t epoch, uint64_t now_ms, const char *body,
			    size_t len);
/* CLOCK_MONOTONIC in milliseconds, for the two above. */
uint64_t		 host_cache_now_ms(void);

#endif
