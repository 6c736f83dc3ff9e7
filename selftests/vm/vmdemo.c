// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Workload pieces for the VM demo (demo-guest.sh):
 *
 *   vmdemo fragment NPIPES READYFILE   unmovable scatter: NPIPES pipes each
 *       holding one page, 7 of 8 closed again; writes
 *       READYFILE and holds the rest until killed.
 *   vmdemo fault MB                    a MADV_HUGEPAGE faulter: map MB MiB,
 *       write every 4 KiB page, print the elapsed milliseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define HUGE_SZ (2UL << 20)

static int fragment(int npipes, const char *ready)
{
	struct rlimit rl = { 4 * (rlim_t)npipes + 1024, 4 * (rlim_t)npipes + 1024 };
	static char page[4096];
	int (*fds)[2] = calloc(npipes, sizeof(*fds));
	FILE *f;

	memset(page, 0x5a, sizeof(page));
	if (!fds || setrlimit(RLIMIT_NOFILE, &rl)) {
		perror("vmdemo: fragment setup");
		return 1;
	}
	for (int i = 0; i < npipes; i++)
		if (pipe(fds[i]) || write(fds[i][1], page, sizeof(page)) != sizeof(page)) {
			fprintf(stderr, "vmdemo: pipe %d: %s\n", i, strerror(errno));
			return 1;
		}
	for (int i = 0; i < npipes; i++)
		if (i % 8) {
			close(fds[i][0]);
			close(fds[i][1]);
		}
	f = fopen(ready, "w");
	if (f)
		fclose(f);
	for (;;)
		pause();
}

static int fault(size_t mb)
{
	size_t len = mb << 20;
	struct timespec a, b;
	char *raw, *p;

	clock_gettime(CLOCK_MONOTONIC, &a);
	raw = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("vmdemo: mmap");
		return 1;
	}
	p = (char *)(((unsigned long)raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	if (madvise(p, len, MADV_HUGEPAGE))
		perror("vmdemo: madvise");
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%ld\n", (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000);
	munmap(raw, len + HUGE_SZ);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fragment"))
		return fragment(atoi(argv[2]), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "fault"))
		return fault(strtoul(argv[2], NULL, 0));
	fprintf(stderr, "usage: vmdemo fragment NPIPES READYFILE | vmdemo fault MB\n");
	return 2;
}
