#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "hostcache.h"

struct slot {
	char		 uuid[DB_UUID_LEN + 1];	/* "" when empty */
	uint64_t	 epoch;
	uint64_t	 stored_ms;
	uint64_t	 expires_ms;	/* stored_ms + lifetime_ms(uuid) */
	char		*body;
	size_t		 len, cap;
};

/*
 * Slots come in sets of HOST_CACHE_WAYS, and a uuid may sit in either of
 * two sets chosen by its hash: hosts whose hashes meet share the room
 * of two sets instead of evicting each other from one slot.
 * (Direct-mapped, 100 hosts in 256 slots left a third of them thrashing
 * in pairs, and a worker read PostgreSQL for a sixth of its GETs.)
 */
struct host_cache {
	struct slot	*slots;		/* nsets * ways of them */
	size_t		 nsets, ways;
};

struct host_cache *
host_cache_new(size_t nslots)
{
	struct host_cache *c;

	if (nslots == 0 || nslots > HOST_CACHE_MAX_SLOTS ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ways = nslots < HOST_CACHE_WAYS ? nslots : HOST_CACHE_WAYS;
	c->nsets = nslots / c->ways;
	if ((c->slots = calloc(c->nsets * c->ways, sizeof(*c->slots))) ==
	    NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
host_cache_free(struct host_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsets * c->ways; i++)
		free(c->slots[i].body);
	free(c->slots);
	free(c);
}

/* FNV-1a over the uuid's text: uuids are random, any mix will do. */
static uint32_t
hash(const char *uuid)
{
	uint32_t h = 2166136261u;

	for (; *uuid != '\0'; uuid++)
		h = (h ^ (unsigned char)*uuid) * 16777619u;
	return h;
}

/*
 * uuid's two sets (the same one when there is only one): it may sit in
 * either, so that a set full of others is no loss while the other one
 * has room.
 */
static void
sets_for(struct host_cache *c, const char *uuid, struct slot *set[2])
{
	uint32_t h = hash(uuid);

	set[0] = &c->slots[(h % c->nsets) * c->ways];
	/* The other from the same hash, mixed (murmur3's finaliser). */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	set[1] = &c->slots[(h % c->nsets) * c->ways];
}

/* The slot holding uuid, or NULL. */
static struct slot *
find(struct host_cache *c, const char *uuid)
{
	struct slot *set[2];
	size_t i, k;

	sets_for(c, uuid, set);
	for (k = 0; k < 2; k++)
		for (i = 0; i < c->ways; i++)
			if (strcmp(set[k][i].uuid, uuid) == 0)
				return &set[k][i];
	return NULL;
}

/* An entry of no use any more: none, past its lifetime, another epoch. */
static bool
spent(const struct slot *s, uint64_t epoch, uint64_t now_ms)
{
	return s->uuid[0] == '\0' || s->epoch != epoch ||
	    now_ms >= s->expires_ms || now_ms < s->stored_ms;
}

/*
 * Where uuid goes: its own slot, else a spent one in whichever of its
 * two sets has more of them (the sets fill evenly), else the entry of
 * the two sets stored longest ago.
 */
static struct slot *
victim(struct host_cache *c, const char *uuid, uint64_t epoch,
    uint64_t now_ms)
{
	struct slot *set[2], *first[2] = { NULL, NULL }, *own, *oldest;
	size_t i, k, nspent[2] = { 0, 0 };

	if ((own = find(c, uuid)) != NULL)
		return own;
	sets_for(c, uuid, set);
	oldest = set[0];
	for (k = 0; k < 2; k++)
		for (i = 0; i < c->ways; i++) {
			if (spent(&set[k][i], epoch, now_ms)) {
				if (nspent[k]++ == 0)
					first[k] = &set[k][i];
			} else if (set[k][i].stored_ms < oldest->stored_ms)
				oldest = &set[k][i];
		}
	if (nspent[0] > 0 || nspent[1] > 0)
		return first[nspent[1] > nspent[0] ? 1 : 0];
	return oldest;
}

/*
 * How long this uuid's entries live: between half the TTL and all of it,
 * fixed per uuid.  Hosts read in the same moment (a worker's first
 * requests) would otherwise all expire, and all be read again, in the
 * same moment, every TTL: a burst of database reads in which requests
 * wait.
 */
static uint64_t
lifetime_ms(const char *uuid)
{
	return HOST_CACHE_TTL_MS / 2 +
	    (hash(uuid) >> 16) % (HOST_CACHE_TTL_MS / 2);
}

const char *
host_cache_get(struct host_cache *c, const char *uuid, uint64_t epoch,
    uint64_t now_ms, size_t *len)
{
	struct slot *s;

	if (c == NULL || (s = find(c, uuid)) == NULL ||
	    spent(s, epoch, now_ms))
		return NULL;
	*len = s->len;
	return s->body;
}

void
host_cache_put(struct host_cache *c, const char *uuid, uint64_t epoch,
    uint64_t now_ms, const char *body, size_t len)
{
	struct slot *s;
	char *nbody;

	if (c == NULL || len == 0 || len > HOST_CACHE_MAX_BODY ||
	    strlen(uuid) > DB_UUID_LEN)
		return;
	s = victim(c, uuid, epoch, now_ms);
	/* Emptied first: a failed allocation leaves no stale entry. */
	s->uuid[0] = '\0';
	if (len > s->cap) {
		if ((nbody = realloc(s->body, len)) == NULL)
			return;
		s->body = nbody;
		s->cap = len;
	}
	memcpy(s->body, body, len);
	s->len = len;
	s->epoch = epoch;
	s->stored_ms = now_ms;
	s->expires_ms = now_ms + lifetime_ms(uuid);
	memcpy(s->uuid, uuid, strlen(uuid) + 1);
}

uint64_t
host_cache_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
