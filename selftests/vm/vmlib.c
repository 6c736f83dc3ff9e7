// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Helpers shared by the VM selftests: see vmlib.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragml_policy.h"
#include "vmlib.h"

const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc < 0 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

long vmstat(const char *name)
{
	char key[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name)) {
			ret = val;
			break;
		}
	fclose(f);
	return ret;
}

int publish_const(const char *hook, const char *action)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");

	/* --no-guard: these tests drive the policy from their own process too */
	return sh("%s/fragml-mkmodel --hook %s --const %s -o /tmp/%s-%s.bin && %s/fragml-load -q --no-guard /tmp/%s-%s.bin",
		  bin, hook, action, hook, action, bin, hook, action);
}

int publish_rule(const char *hook, const char *rule)
{
	const char *bin = env_or("FRAGML_BIN", "build/bin");

	return sh("%s/fragml-mkmodel --hook %s --rule '%s' -o /tmp/%s-rule.bin && %s/fragml-load -q --no-guard /tmp/%s-rule.bin",
		  bin, hook, rule, hook, bin, hook);
}

void reset_fragml(void)
{
	struct fragml_err err = {};

	fragml_policy_detach(&err);
	sh("%s/fragml detach >/dev/null 2>&1", env_or("FRAGML_BIN", "build/bin"));
}

bool policy_is(const char *variant)
{
	struct fragml_err err = {};
	char name[64] = "";

	return fragml_policy_current(name, sizeof(name), &err) == 0 && !strcmp(name, variant);
}

int fault_region(struct region *r, size_t mb)
{
	r->len = mb << 20;
	r->raw = mmap(NULL, r->len + HUGE_SZ, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->raw == MAP_FAILED)
		return -errno;
	r->p = (char *)(((unsigned long)r->raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	if (madvise(r->p, r->len, MADV_HUGEPAGE))
		return -errno;
	for (size_t off = 0; off < r->len; off += 4096)
		r->p[off] = 1;
	return 0;
}

void unmap_region(struct region *r)
{
	munmap(r->raw, r->len + HUGE_SZ);
}

int thp_attempts(size_t n)
{
	size_t len = n * HUGE_SZ;
	char *raw = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	if (raw == MAP_FAILED)
		return -errno;
	p = (char *)(((unsigned long)raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	madvise(p, len, MADV_HUGEPAGE);
	for (size_t off = 0; off < len; off += HUGE_SZ)
		p[off] = 1;
	munmap(raw, len + HUGE_SZ);
	return 0;
}

int thp_faulter(size_t n)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	while (!thp_attempts(n))
		;
	_exit(1);
}

int fragment_unmovable(int npipes)
{
	struct rlimit rl = { 4 * (rlim_t)npipes + 1024, 4 * (rlim_t)npipes + 1024 };
	static char page[4096];
	int (*fds)[2];
	int kept = 0;

	memset(page, 0x5a, sizeof(page));
	sh("echo %d > /proc/sys/fs/file-max", 4 * npipes + 65536);
	sh("echo %d > /proc/sys/fs/nr_open", 4 * npipes + 65536);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	fds = calloc(npipes, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	for (int i = 0; i < npipes; i++) {
		if (pipe(fds[i]))
			break;
		if (write(fds[i][1], page, sizeof(page)) != sizeof(page))
			break;
	}
	for (int i = 0; i < npipes; i++) {
		if (i % 8 == 0) {
			kept++;
			continue;
		}
		close(fds[i][0]);
		close(fds[i][1]);
	}
	return kept;
}

int pipes_for_memory(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long kb = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb <= 0 || kb / 8 > 150000 ? 150000 : (int)(kb / 8);
}

void print_frag_state(const char *what)
{
	printf("# %s: ", what);
	fflush(stdout);
	sh("grep -E 'Normal|DMA32' /proc/buddyinfo | head -2 | tr -s ' ' | tr '\\n' ' '; echo; echo -n '#   unusable index: '; cat /sys/kernel/debug/extfrag/unusable_index | tr '\\n' ' '; echo");
}
