/*
 * memscan PID HEX... — is any of the byte strings (hex) anywhere in the
 * readable memory of process PID?  Reads /proc/PID/maps and
 * /proc/PID/mem (needs ptrace rights over PID: root, or its owner).
 * Exit 0: found (prints which and where), 1: none found, 2: error.
 * tests/integration/signer.sh looks for the CA key's private exponent.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NEEDLES_MAX	8
#define NEEDLE_MAX	512
#define CHUNK		(1024 * 1024)
/*
 * A readable mapping larger than this is AddressSanitizer's shadow memory
 * (terabytes reserved, almost all of it never touched): reading it would
 * take hours.  Nothing of swarmctl's is that large; a skipped mapping is
 * named on standard error.
 */
#define MAPPING_MAX	(1UL << 30)

struct needle {
	unsigned char	 b[NEEDLE_MAX];
	size_t		 len;
};

static int
unhex(const char *s, struct needle *n)
{
	size_t len = strlen(s), i;
	unsigned int v;

	if (len == 0 || len % 2 != 0 || len / 2 > NEEDLE_MAX)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		n->b[i] = (unsigned char)v;
	}
	n->len = len / 2;
	return 0;
}

/* Search [start, end) chunk by chunk, chunks overlapping by NEEDLE_MAX. */
static int
scan(int mem, unsigned long start, unsigned long end,
    const struct needle *n, size_t nn, unsigned char *buf)
{
	unsigned long at;
	size_t i;
	void *hit;

	for (at = start; at < end; at += CHUNK - NEEDLE_MAX) {
		size_t want = end - at < CHUNK ? end - at : CHUNK;
		ssize_t got;

		if ((got = pread(mem, buf, want, (off_t)at)) <= 0)
			return 0;	/* unreadable (guard pages, vvar) */
		for (i = 0; i < nn; i++)
			if ((hit = memmem(buf, (size_t)got, n[i].b,
			    n[i].len)) != NULL) {
				printf("needle %zu at 0x%lx\n", i,
				    at + (unsigned long)((unsigned char *)hit -
				    buf));
				return 1;
			}
		if ((size_t)got < want || at + want >= end)
			return 0;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct needle n[NEEDLES_MAX];
	unsigned long start, end;
	char path[64], line[512], perms[8];
	unsigned char *buf;
	FILE *maps;
	int mem, i, found = 0;

	if (argc < 3 || argc - 2 > NEEDLES_MAX) {
		fprintf(stderr, "usage: memscan PID HEX...\n");
		return 2;
	}
	for (i = 2; i < argc; i++)
		if (unhex(argv[i], &n[i - 2]) == -1) {
			fprintf(stderr, "memscan: bad hex %s\n", argv[i]);
			return 2;
		}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((maps = fopen(path, "r")) == NULL) {
		fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY)) == -1 ||
	    (buf = malloc(CHUNK)) == NULL) {
		fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while (!found && fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		if (perms[0] != 'r')
			continue;
		if (end - start > MAPPING_MAX) {
			fprintf(stderr, "memscan: skipped %lx-%lx (%lu MiB)\n",
			    start, end, (end - start) >> 20);
			continue;
		}
		found = scan(mem, start, end, n, (size_t)(argc - 2), buf);
	}
	fclose(maps);
	close(mem);
	free(buf);
	return found ? 0 : 1;
}
