/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * A guest program written in C (compiled as C99, -pedantic) against libxenbpf: proves the header
 * is C and the library links from C. Run by libxenbpf_test.cc against an in-process bpfd with
 * XENBPF_CHANNEL set; exits 0 when every step did what the API documents.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenbpf/xenbpf.h"

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #cond); \
			return 1;                                                      \
		}                                                                      \
	} while (0)

int main(void)
{
	static const unsigned char object[] = { 0x7f, 'E', 'L', 'F', 0, 1, 2, 3 };
	struct xenbpf_map_info maps[XENBPF_MAX_MAPS];
	size_t n_maps = XENBPF_MAX_MAPS;
	struct xenbpf_stats stats;
	struct xenbpf *h = NULL;
	uint32_t prog = 0;
	uint32_t key = 3;
	uint64_t value = 42, read = 0;
	int rc;

	rc = xenbpf_connect(NULL, &h); /* the channel comes from $XENBPF_CHANNEL */
	if (rc < 0) {
		fprintf(stderr, "connect: %s (%s)\n", xenbpf_errmsg(NULL), strerror(-rc));
		return 1;
	}
	rc = xenbpf_load_elf(h, object, sizeof(object), NULL, &prog, maps, &n_maps);
	if (rc < 0) {
		fprintf(stderr, "load: %s\n", xenbpf_errmsg(h));
		return 1;
	}
	printf("program %u, %u maps\n", (unsigned)prog, (unsigned)n_maps);
	CHECK(n_maps == 2 && strcmp(maps[0].name, "counters") == 0);
	CHECK(maps[0].key_size == sizeof(key) && maps[0].value_size == sizeof(value));

	CHECK(xenbpf_update_elem(h, maps[0].id, &key, sizeof(key), &value, sizeof(value),
				 XENBPF_NOEXIST) == 0);
	CHECK(xenbpf_lookup_elem(h, maps[0].id, &key, sizeof(key), &read, sizeof(read)) == 0);
	CHECK(read == 42);
	CHECK(xenbpf_update_elem(h, maps[0].id, &key, sizeof(key), &value, sizeof(value),
				 XENBPF_NOEXIST) == -EEXIST);
	CHECK(strlen(xenbpf_errmsg(h)) > 0);
	CHECK(xenbpf_delete_elem(h, maps[0].id, &key, sizeof(key)) == 0);
	CHECK(xenbpf_lookup_elem(h, maps[0].id, &key, sizeof(key), &read, sizeof(read)) == -ENOENT);

	CHECK(xenbpf_stats(h, &stats) == 0);
	CHECK(stats.cost_ps > 0 && strlen(stats.method) > 0);
	CHECK(xenbpf_set_timeout(h, 5000) == 0);
	CHECK(xenbpf_fd(h) >= 0);

	CHECK(xenbpf_unload(h, prog) == 0);
	CHECK(xenbpf_unload(h, prog) == -ENOENT);
	printf("unloaded: %s\n", xenbpf_errmsg(h));
	xenbpf_disconnect(h);
	return 0;
}
