// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * gate_compare NAME -- COMMAND...: run COMMAND in the patched guest and print
 * one line of what the allocator did meanwhile: migratetype fallbacks and
 * mixing ones (alloc_events.bpf.c), failed allocations, the gate counters and
 * the cost counters of /proc/vmstat.  Used by trainer/compare-gate-guest.sh
 * to compare no policy, the defrag_mode-style rule and the learned gate on
 * one workload.  Not a test: it asserts nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "alloc_events.h"
#include "vmlib.h"

static const char *const counters[] = {
	"fallback_gate_fallback", "fallback_gate_defer", "fallback_gate_defer_refused",
	"fallback_gate_defer_satisfied", "fallback_gate_defer_fellback",
	"fallback_gate_defer_reclaimed", "fallback_gate_defer_compacted",
	"pgsteal_direct", "pgsteal_kswapd", "pswpout", "compact_stall", "allocstall_normal",
	"allocstall_dma32", "oom_kill",
};
#define NC (sizeof(counters) / sizeof(counters[0]))
static const char *const evname[ALLOC_EV_NR] = {
	"fallbacks", "mixing", "mixing_unmovable", "failed", "failed_atomic",
};

static void take(int fd, long *ev, long *vm)
{
	for (__u32 k = 0; k < ALLOC_EV_NR; k++) {
		__u64 v = 0;

		bpf_map_lookup_elem(fd, &k, &v);
		ev[k] = (long)v;
	}
	for (size_t i = 0; i < NC; i++)
		vm[i] = vmstat(counters[i]);
}

int main(int argc, char **argv)
{
	long ev0[ALLOC_EV_NR], ev1[ALLOC_EV_NR], vm0[NC], vm1[NC];
	struct bpf_object *obj;
	struct bpf_program *p;
	char path[512];
	int fd, status = 0;
	pid_t child;

	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: gate_compare NAME -- COMMAND [ARGS...]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/alloc_events.bpf.o", env_or("FRAGML_TESTDIR", "."));
	obj = bpf_object__open_file(path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "gate_compare: %s: cannot load: %s\n", path, strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(p, obj)
		if (!bpf_program__attach(p)) {
			fprintf(stderr, "gate_compare: attach failed: %s\n", strerror(errno));
			return 1;
		}
	fd = bpf_object__find_map_fd_by_name(obj, "alloc_events");
	take(fd, ev0, vm0);
	child = fork();
	if (child == 0) {
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	waitpid(child, &status, 0);
	take(fd, ev1, vm1);
	printf("%s", argv[1]);
	for (int k = 0; k < ALLOC_EV_NR; k++)
		printf(" %s=%ld", evname[k], ev1[k] - ev0[k]);
	for (size_t i = 0; i < NC; i++)
		printf(" %s=%ld", counters[i], vm0[i] < 0 || vm1[i] < 0 ? -1 : vm1[i] - vm0[i]);
	printf(" rc=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	bpf_object__close(obj);
	return 0;
}
