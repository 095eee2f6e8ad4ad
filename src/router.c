#include "config.h"

#include <stdio.h>
#include <string.h>

#include "router.h"

/*
 * Does `path` match `pattern`?  Both start with '/'.  A "{...}" pattern
 * segment captures one path segment into param.
 */
static bool
pattern_match(const char *pattern, const char *path,
    char param[ROUTE_PARAM_MAX])
{
	while (*pattern != '\0' && *path != '\0') {
		if (pattern[0] == '{') {
			const char *pend = strchr(pattern, '}');
			size_t n = strcspn(path, "/");

			if (pend == NULL || n == 0 || n >= ROUTE_PARAM_MAX)
				return false;
			memcpy(param, path, n);
			param[n] = '\0';
			pattern = pend + 1;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

static void
allow_add(char *allow, size_t allowsz, const char *method)
{
	size_t len = strlen(allow);

	/* The table is small and fixed; the buffer is sized for it. */
	if (strstr(allow, method) != NULL)
		return;
	if (len + strlen(method) + 3 > allowsz)
		return;
	snprintf(allow + len, allowsz - len, "%s%s", len > 0 ? ", " : "",
	    method);
}

/*
 * RFC 9110 9.3.2: a server answers HEAD wherever it answers GET, with
 * the same status and headers and no body; a GET row serves both.
 */
static bool
method_serves(enum http_method row, enum http_method asked)
{
	return row == asked || (row == HTTP_GET && asked == HTTP_HEAD);
}

enum route_result
router_match(const struct route *table, size_t n, enum http_method method,
    const char *path, const struct route **out, char param[ROUTE_PARAM_MAX],
    char *allow, size_t allowsz)
{
	char scratch[ROUTE_PARAM_MAX];
	bool path_known = false;
	size_t i;

	*out = NULL;
	param[0] = '\0';
	if (allowsz > 0)
		allow[0] = '\0';
	for (i = 0; i < n; i++) {
		/* A pattern without "{...}" captures nothing: param stays "". */
		scratch[0] = '\0';
		if (!pattern_match(table[i].pattern, path, scratch))
			continue;
		path_known = true;
		allow_add(allow, allowsz, http_method_name(table[i].method));
		if (table[i].method == HTTP_GET)
			allow_add(allow, allowsz, http_method_name(HTTP_HEAD));
		if (method_serves(table[i].method, method) && *out == NULL) {
			*out = &table[i];
			memcpy(param, scratch, ROUTE_PARAM_MAX);
		}
	}
	if (*out != NULL)
		return ROUTE_FOUND;
	return path_known ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}
