// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * evalblocks OBJ READYFILE: the evaluation's migratetype-fallback counts,
 * kept in the guest kernel by extfrag_blocks.bpf.c (OBJ).  Loads and attaches
 * it, creates READYFILE, and on SIGTERM or SIGINT prints the counts as
 * metrics.txt lines and exits:
 *   extfrag_bpf_events N          every mm_page_alloc_extfrag
 *   extfrag_polluting_events N    fallbacks below pageblock order that left
 *   extfrag_polluted_blocks N     the block its type, and their pageblocks
 *   extfrag_nonmovable_events N   fallbacks of unmovable/reclaimable requests,
 *   extfrag_nonmovable_blocks N   and their pageblocks
 *   extfrag_nm_polluting_events N the polluting ones of those (unmovable or
 *   extfrag_nm_polluted_blocks N  reclaimable pages left in a block of
 *                                 another type), and their pageblocks
 *   extfrag_blocks_out_of_range N events whose pageblock was not recorded
 * The same definitions as `evalwork extfrag` over the tracefs ring, without
 * its losses when the ring overflows.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "extfrag_blocks.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long distinct(int fd)
{
	long n = 0;

	for (__u32 k = 0; k < EXTFRAG_MAX_BLOCKS; k++) {
		__u8 v = 0;

		if (!bpf_map_lookup_elem(fd, &k, &v) && v)
			n++;
	}
	return n;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	static const char *const names[EXTFRAG_NR] = {
		[EXTFRAG_EVENTS] = "extfrag_bpf_events",
		[EXTFRAG_POLLUTING] = "extfrag_polluting_events",
		[EXTFRAG_NONMOVABLE] = "extfrag_nonmovable_events",
		[EXTFRAG_OUT_OF_RANGE] = "extfrag_blocks_out_of_range",
		[EXTFRAG_NM_POLLUTING] = "extfrag_nm_polluting_events",
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct bpf_object *obj;
	struct bpf_link *links[4];
	struct bpf_program *p;
	int cfd, pfd, nfd, mfd, fd, nl = 0;

	if (argc != 3 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: evalblocks EXTFRAG_BLOCKS.bpf.o READYFILE\n");
		return argc == 2 ? 0 : 2;
	}
	libbpf_set_print(silent);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "evalblocks: %s: cannot load: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(p, obj) {
		if (nl == (int)(sizeof(links) / sizeof(links[0])) || !(links[nl++] = bpf_program__attach(p))) {
			fprintf(stderr, "evalblocks: %s: attach failed: %s\n",
				bpf_program__name(p), strerror(errno));
			return 1;
		}
	}
	cfd = bpf_object__find_map_fd_by_name(obj, "extfrag_counts");
	pfd = bpf_object__find_map_fd_by_name(obj, "polluted_blocks");
	nfd = bpf_object__find_map_fd_by_name(obj, "nonmovable_blocks");
	mfd = bpf_object__find_map_fd_by_name(obj, "nm_polluted_blocks");
	if (cfd < 0 || pfd < 0 || nfd < 0 || mfd < 0) {
		fprintf(stderr, "evalblocks: %s: maps extfrag_counts/polluted_blocks/nonmovable_blocks/nm_polluted_blocks missing\n",
			argv[1]);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "evalblocks: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	close(fd);
	while (!stop)
		pause();
	/* detach first: the counts are final while they are read */
	while (nl > 0)
		bpf_link__destroy(links[--nl]);
	for (__u32 k = 0; k < EXTFRAG_NR; k++) {
		__u64 v = 0;

		bpf_map_lookup_elem(cfd, &k, &v);
		printf("%s %llu\n", names[k], (unsigned long long)v);
		if (k == EXTFRAG_POLLUTING)
			printf("extfrag_polluted_blocks %ld\n", distinct(pfd));
		if (k == EXTFRAG_NONMOVABLE)
			printf("extfrag_nonmovable_blocks %ld\n", distinct(nfd));
		if (k == EXTFRAG_NM_POLLUTING)
			printf("extfrag_nm_polluted_blocks %ld\n", distinct(mfd));
	}
	bpf_object__close(obj);
	return 0;
}
