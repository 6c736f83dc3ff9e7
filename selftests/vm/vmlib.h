/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers shared by the VM selftests (policy_test.c, gate_test.c): shell
 * commands, /proc/vmstat, publishing hand-written models with the real tools,
 * faulting huge-page regions and fragmenting memory with unmovable pages.
 */
#ifndef FRAGML_VMLIB_H
#define FRAGML_VMLIB_H

#include <stdbool.h>
#include <stddef.h>

#define HUGE_SZ		(2UL << 20)

/* getenv(name), or def when unset or empty. */
const char *env_or(const char *name, const char *def);

/* Run a shell command; returns its exit status (or -1). */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A /proc/vmstat counter, -1 when the kernel has none of that name. */
long vmstat(const char *name);

/* Write a constant model for `hook` with fragml-mkmodel and publish it. */
int publish_const(const char *hook, const char *action);

/* Write a one-split model ('FEATURE<VALUE?A:B') for `hook` and publish it. */
int publish_rule(const char *hook, const char *rule);

/* Detach everything fragml pinned: the kernel default decides again. */
void reset_fragml(void);

/* Is the attached mm_policy_ops policy this variant? */
bool policy_is(const char *variant);

struct region { char *raw, *p; size_t len; };

/* Map `mb` MiB, 2 MiB aligned, MADV_HUGEPAGE, and write every 4 KiB page. */
int fault_region(struct region *r, size_t mb);
void unmap_region(struct region *r);

/*
 * Map `n` 2 MiB-aligned regions of 2 MiB (MADV_HUGEPAGE), touch one byte of
 * each (one THP fault attempt each), unmap.  0 or -errno.
 */
int thp_attempts(size_t n);
/* A child that repeats thp_attempts(n) until it is killed (SIGKILL). */
int thp_faulter(size_t n);

/*
 * Unmovable scatter: `npipes` pipes each holding one page, 7 of 8 closed
 * again, so pinned pages sit in most pageblocks.  The kept pipes live as
 * long as the calling process.  Returns how many were kept, or -errno.
 */
int fragment_unmovable(int npipes);

/*
 * Pipes for the scatter when FRAGML_FRAG_PIPES is unset: all of them exist at
 * once before 7 of 8 close, at about 6 KiB each (the page plus the pipe's
 * files, inode, dentry and buffer array under SLUB), so size the burst to
 * about 3/4 of MemAvailable (8 KiB budget per pipe), at most 150000.
 */
int pipes_for_memory(void);

/* Print buddyinfo and the unusable index as a KTAP comment. */
void print_frag_state(const char *what);

#endif /* FRAGML_VMLIB_H */
