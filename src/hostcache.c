#include "config.h"

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

struct host_cache {
	struct slot	*slots;
	size_t		 nslots;
};

struct host_cache *
host_cache_new(size_t nslots)
{
	struct host_cache *c;

	if (nslots == 0 || nslots > HOST_CACHE_MAX_SLOTS ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->slots = calloc(nslots, sizeof(*c->slots))) == NULL) {
		free(c);
		return NULL;
	}
	c->nslots = nslots;
	return c;
}

void
host_cache_free(struct host_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nslots; i++)
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

static struct slot *
slot_for(struct host_cache *c, const char *uuid)
{
	return &c->slots[hash(uuid) % c->nslots];
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

	if (c == NULL)
		return NULL;
	s = slot_for(c, uuid);
	if (s->epoch != epoch || now_ms < s->stored_ms ||
	    now_ms >= s->expires_ms || strcmp(s->uuid, uuid) != 0)
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
	s = slot_for(c, uuid);
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
