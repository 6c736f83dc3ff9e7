// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the kernel's verifier does for each fragml program (`make
 * bench-verifier`): every BPF object given on the command line is opened and
 * loaded with log level 4 (statistics only), its maps pinned in a scratch
 * folder on bpffs and removed after; one row per program with the
 * instructions the verifier processed (of its 1 000 000 limit), its states
 * and the verification time the kernel reports.  A program the running
 * kernel cannot load (an object needing hooks it lacks) fails the whole
 * object: the row says so and the run goes on.  Needs root and bpffs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#define LOG_SZ 4096

static void row(const char *obj, const char *prog, const char *log)
{
	unsigned long long insns = 0, usec = 0, states = 0, peak = 0;
	char stack[64] = "";
	const char *p;

	if ((p = strstr(log, "verification time ")))
		sscanf(p, "verification time %llu usec", &usec);
	if ((p = strstr(log, "processed ")))
		sscanf(p, "processed %llu insns (limit %*u) max_states_per_insn %*u total_states %llu peak_states %llu",
		       &insns, &states, &peak);
	/* "stack depth 120+32+0": bytes per frame, the program's first */
	if ((p = strstr(log, "stack depth ")))
		sscanf(p, "stack depth %63[0-9+]", stack);
	printf("| %s | %s | %llu | %llu | %llu | %.1f | %s |\n", obj, prog, insns, states, peak, usec / 1000.0,
	       stack);
}

static int bench(const char *path, const char *pin)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = pin);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct bpf_object *obj = bpf_object__open_file(path, &o);
	struct bpf_program *p;
	struct bpf_map *m;
	int n = 0, ret;

	if (!obj) {
		fprintf(stderr, "bench-verifier: %s: %s\n", path, strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(p, obj) {
		char *buf = calloc(1, LOG_SZ);

		if (!buf || bpf_program__set_log_buf(p, buf, LOG_SZ) || bpf_program__set_log_level(p, 4)) {
			free(buf);
			bpf_object__close(obj);
			return -1;
		}
		n++;
	}
	ret = bpf_object__load(obj);
	bpf_object__for_each_program(p, obj) {
		size_t sz;
		const char *log = bpf_program__log_buf(p, &sz);

		if (!ret && bpf_program__autoload(p))
			row(base, bpf_program__name(p), log ? log : "");
		free((void *)log);
	}
	if (ret)
		printf("| %s | (not loadable on this kernel: %s) | | | | | |\n", base, strerror(-ret));
	bpf_object__for_each_map(m, obj)
		if (bpf_map__is_pinned(m))
			bpf_map__unpin(m, NULL);
	bpf_object__close(obj);
	return n;
}

int main(int argc, char **argv)
{
	char pin[] = "/sys/fs/bpf/fragml-bench-verifier-XXXXXX";
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_verifier OBJ.bpf.o...   (make bench-verifier)\n");
		return 2;
	}
	if (!mkdtemp(pin)) {
		fprintf(stderr, "bench-verifier: %s: %s (needs root and bpffs on /sys/fs/bpf: mount -t bpf bpf /sys/fs/bpf)\n",
			pin, strerror(errno));
		return 1;
	}
	libbpf_set_print(NULL);
	printf("| object | program | insns processed (limit 1 000 000) | states | peak states | verification ms | stack bytes per frame |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (int i = 1; i < argc; i++)
		if (bench(argv[i], pin) < 0)
			rc = 1;
	rmdir(pin);
	return rc;
}
